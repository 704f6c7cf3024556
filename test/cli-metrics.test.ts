/**
 * The CLI as an operator runs it: two validator processes with --metrics, scraped over HTTP before and after
 * a block (the consensus metrics move, /health reports the height and the decision), and --log-format json
 * giving one JSON object per stderr line.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allListening, CliProcess, connectedPeers, runCli, withPortBlock } from './helpers/proc.ts';

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function get(url: string): Promise<{ status: number; text: string }> {
  const r = await fetch(url);
  return { status: r.status, text: await r.text() };
}

test('validators with --metrics: blocks and consensus frames move the metrics, /health carries the height', async () => {
  const root = mkdtempSync(join(tmpdir(), 'strongcast-metrics-'));
  let procs: CliProcess[] = [];
  try {
    procs = await withPortBlock(2, async (block) => {
      const dir = mkdtempSync(join(root, 'net-'));
      // Round 0 a few seconds ahead, so both start as a fresh network rather than catching up.
      const r = await runCli(['init', '--nodes', '2', '--out', dir, '--round-ms', '300', '--base-port', String(block.base), '--start-ms', String(Date.now() + 4000)]);
      assert.is(r.code, 0, r.stderr);
      await block.release();
      const started = [0, 1].map((i) => new CliProcess(['--genesis', join(dir, 'genesis.json'), '--key', join(dir, `node-${i}.key`), '--host', '127.0.0.1', '--json', '--threads', '1', '--metrics', '127.0.0.1:0']));
      await allListening(started);
      return started;
    });
    const urls = await Promise.all(procs.map(async (p, i) => String((await p.waitEvent((e) => e.event === 'metrics', `metrics on ${i}`)).url)));
    for (const url of urls) assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const deadline = Date.now() + 20_000;
    while (!procs.every((p) => connectedPeers(p) === 1) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const before = await get(`${urls[0]}/metrics`);
    assert.is(sample(before.text, 'strongcast_blocks_decided_total'), 0);
    assert.is(sample(before.text, 'strongcast_chain_height'), 0);
    assert.is(sample(before.text, 'strongcast_verify_pool_threads'), 1);
    assert.is(sample(before.text, 'strongcast_divergences_total'), 0, 'a validator reports divergences (none here)');
    assert.is(sample(before.text, 'strongcast_store_failed'), 0, 'a validator whose store works');
    assert.is(sample(before.text, 'strongcast_chains_out_of_sync_total'), 0, 'and chains checked out of synchrony (none here)');
    assert.is(sample(before.text, 'strongcast_chains_checked_late_total'), 0);
    procs[1]!.command('mine metered block');
    await Promise.all(procs.map((p, i) => p.waitEvent((e) => e.event === 'decided' && e.block !== null, `decided on ${i}`, 20_000)));
    const after = await get(`${urls[0]}/metrics`);
    assert.is(sample(after.text, 'strongcast_blocks_decided_total'), 1);
    assert.is(sample(after.text, 'strongcast_chain_height'), 1);
    assert.ok(sample(after.text, 'strongcast_received_frames_total{type="ds"}')! >= 1, 'the proposal came in as a ds frame');
    assert.ok(sample(after.text, 'strongcast_verify_signatures_total')! >= 1, 'its signature was verified by the pool');
    assert.ok(sample(after.text, 'strongcast_consensus_round')! >= 1, 'the rounds have begun');
    const h = await get(`${urls[0]}/health`);
    assert.is(h.status, 200, h.text);
    const body = JSON.parse(h.text) as { height: number; peers: number; lastDecidedAt: string | null; syncing: boolean; divergences: number };
    assert.is(body.height, 1);
    assert.is(body.divergences, 0);
    assert.is(body.peers, 1);
    assert.is(body.syncing, false);
    assert.ok(body.lastDecidedAt !== null && Date.parse(body.lastDecidedAt) > Date.now() - 60_000, 'the decision time');
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
    rmSync(root, { recursive: true, force: true });
  }
});

test('--log-format json: every stderr line is one JSON object with time, level and message', async () => {
  const p = new CliProcess(['--host', '127.0.0.1', '--port', '0', '--json', '--log-format', 'json', '--log-level', 'debug']);
  try {
    await p.waitEvent((e) => e.event === 'listening', 'listening');
    assert.is(await p.stop(), 0);
    const lines = p.stderr.trim().split('\n');
    assert.ok(lines.length >= 3, `listening, shutting down, stopped: ${p.stderr}`);
    for (const l of lines) {
      const entry = JSON.parse(l) as Record<string, unknown>;
      assert.type(entry.message, 'string');
      assert.ok(['debug', 'info', 'warn', 'error'].includes(String(entry.level)), l);
      assert.ok(!Number.isNaN(Date.parse(String(entry.time))), l);
    }
    const listening = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => e.message === 'listening');
    assert.is(listening?.host, '127.0.0.1');
    assert.type(listening?.port, 'number');
  } finally {
    await p.stop();
  }
});

test('SIGTERM the moment the node says it listens (its metrics server still starting) shuts down cleanly, status 0', async () => {
  for (let i = 0; i < 3; i++) {
    const p = new CliProcess(['--host', '127.0.0.1', '--port', '0', '--json', '--metrics', '0']);
    try {
      // Killed from the read itself, not after a poll: the signal lands while the start is still going on.
      p.child.stdout!.on('data', (d: Buffer) => void (d.toString().includes('"event":"listening"') && p.child.kill('SIGTERM')));
      const timer = setTimeout(() => p.child.kill('SIGKILL'), 15_000);
      const code = await p.exited;
      clearTimeout(timer);
      assert.is(code, 0, `exit status of run ${i}: ${p.stderr}`);
    } finally {
      await p.stop();
    }
  }
});

test('--metrics with a port in use is a one-line ERR_PORT_IN_USE, and no node is left running', async () => {
  const holder = new CliProcess(['--host', '127.0.0.1', '--port', '0', '--json', '--metrics', '0']);
  try {
    const port = Number((await holder.waitEvent((e) => e.event === 'metrics', 'metrics')).port);
    const r = await runCli(['--host', '127.0.0.1', '--port', '0', '--metrics', String(port), '--log-level', 'error']);
    assert.is(r.code, 2, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.is(lines.length, 1, r.stderr);
    assert.match(lines[0]!, new RegExp(`^strongcast: ERR_PORT_IN_USE: metrics server cannot listen on 127\\.0\\.0\\.1:${port}`));
  } finally {
    await holder.stop();
  }
});

test.run();
