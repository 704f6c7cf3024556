#!/usr/bin/env -S node --max-semi-space-size=2
// The `strongcast` command of the installed package: the compiled CLI under plain Node, with no TypeScript
// loader. In a clone, `npx tsx src/main.ts` runs the same CLI from the sources (or `npm run build` first).
// --max-semi-space-size=2: V8 grows its young generation towards 16 MB semi-spaces under a steady stream of
// messages, and a node's memory with it, for no CPU gained; 2 MB kept 16 nodes at 1,000 msg/s at 93 MB each
// instead of 103-105 (bench/RESULTS.md `gossip-semi-space`). From a clone, NODE_OPTIONS does the same.
import '../dist/src/main.js';
