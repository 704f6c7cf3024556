/**
 * The installed command runs Node with the flags the benchmarks start their node processes with
 * (bench/node-flags.ts), so a benchmark measures what users run; and the flags take effect.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { cliNodeFlags } from '../bench/node-flags.ts';

test('bin/strongcast.js starts Node with exactly the benchmarks\' CLI flags', () => {
  const first = readFileSync(new URL('../bin/strongcast.js', import.meta.url), 'utf8').split('\n')[0]!;
  const m = /^#!\/usr\/bin\/env -S node(?<flags>( \S+)*)$/.exec(first);
  assert.ok(m, `a shebang that passes flags to node: ${first}`);
  assert.equal(m.groups!['flags']!.trim().split(' ').filter(Boolean), [...cliNodeFlags]);
});

test('--max-semi-space-size=2 caps the young generation a node process can grow to', () => {
  // V8 reports the new space's capacity; allocate enough short-lived objects that it would grow.
  const script = "const v8=require('v8');const keep=[];for(let i=0;i<3e6;i++){keep.push({i});if(keep.length>2e5)keep.length=0}console.log(v8.getHeapSpaceStatistics().find(s=>s.space_name==='new_space').space_size)";
  const capped = Number(execFileSync(process.execPath, [...cliNodeFlags, '-e', script], { encoding: 'utf8' }));
  const plain = Number(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }));
  // The new space holds two semi-spaces.
  assert.ok(capped <= 2 * 2 * 2 ** 20, `new space ${capped} bytes with the flags`);
  assert.ok(plain > capped, `and larger without them (${plain} bytes): the flag is what caps it`);
});

test.run();
