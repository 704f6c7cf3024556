/**
 * A bug that throws where nothing catches it (an exception in an event handler, a promise rejected with no
 * handler) ends a CLI node through its one fatal path: one `strongcast: internal error:` line with the
 * stack on stderr, then everything the writers of stdout and stderr hold reaches their readers, then exit
 * status 1. Node's own handling would print a stack and exit at once, throwing away the events a slow
 * reader had not taken yet.
 *
 * The fault is a test-only preload (helpers/fail-on-signal.mjs) that throws or rejects on SIGUSR2.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CliProcess } from './helpers/proc.ts';
import { dialMarker, exitWithin, feed, within } from './helpers/slow-reader.ts';

const failOnSignal = new URL('./helpers/fail-on-signal.mjs', import.meta.url).href;

for (const mode of ['exception', 'rejection'] as const) {
  test(`an uncaught ${mode}: the error line, then every event held for a paused reader, then exit status 1`, async () => {
    const p = new CliProcess(['--host', '127.0.0.1', '--port', '0', '--json', '--log-level', 'warn'], { preload: [failOnSignal], env: { STRONGCAST_TEST_FAIL: mode } });
    const marker = await dialMarker();
    try {
      await p.waitEvent((e) => e.event === 'listening', 'listening');
      p.child.stdout!.pause();
      p.child.stderr!.pause();
      const before = p.events.length;
      const count = 20_000; // ~1.8 MB of answers held: under the 4 MiB bound, far more than the pipe takes
      await feed(p, [...Array.from({ length: count }, (_, i) => `n${i}`), `connect 127.0.0.1:${marker.port}`], 2000);
      await within('the node answering every command', marker.dialed, 60_000);
      p.child.kill('SIGUSR2');
      await new Promise((resolve) => setTimeout(resolve, 500)); // the node has failed and waits for its readers
      p.child.stdout!.resume();
      p.child.stderr!.resume();
      assert.is(await exitWithin(p, 20_000), 1, p.stderr.slice(-1500));
      const answers = p.events.slice(before).filter((e) => e.event === 'error' && /'n\d+'/.test(String(e.message)));
      assert.is(answers.length, count, 'every answer the node held reached the reader');
      assert.is(answers[count - 1]?.message, `unknown command 'n${count - 1}' (try help)`);
      assert.match(p.stderr, `strongcast: internal error: Error: test fault: an uncaught ${mode} from SIGUSR2`);
      assert.match(p.stderr, /\n\s+at /, 'with its stack: a bug, not a user mistake');
    } finally {
      marker.close();
      await p.stop();
    }
  });
}

test.run();
