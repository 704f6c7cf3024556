#!/usr/bin/env node
// The `strongcast` command of the installed package: the compiled CLI under plain Node, with no TypeScript
// loader. In a clone, `npx tsx src/main.ts` runs the same CLI from the sources (or `npm run build` first).
import '../dist/src/main.js';
