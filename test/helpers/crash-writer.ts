/**
 * Child process of the crash test: appends blocks to the chain of a data directory as fast as it can,
 * printing `durable <height>` only after each append resolves, until it is killed.
 *
 *   node --import tsx crash-writer.ts DIR GENESIS_HEX [burst]
 *
 * It keeps up to crashWriterInFlightMax appends queued, so the log group-commits them, and most payloads are
 * large. With `burst`, it first appends one block, waits for it, prints `burst <chain.log bytes>`, and then
 * queues crashWriterBurstBlocks large blocks at once: the log writes them as one batch of several megabytes,
 * and the test, watching the file grow past that size, kills the writer in the middle of that write.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { fromHex } from '../../src/bytes.ts';
import { blockHash, type ChainBlock } from '../../src/consensus/block.ts';
import type { ChainTip } from '../../src/consensus/chain.ts';
import type { WireBlock } from '../../src/wire/schema.ts';
import { DATA_DIR_FILES, openDataDir } from '../../src/store/data-dir.ts';

/** Most appends the writer has queued and not yet durable, outside a burst. */
export const crashWriterInFlightMax = 16;

/** Blocks queued at once in a burst: about 30 x 200 KB, under the log's default batchBytesMax of 8 MiB. */
export const crashWriterBurstBlocks = 30;

/** The writer stops by itself at this height, so a kill that never comes cannot fill the disk. */
export const crashWriterHeightMax = 5_000;

/** The wire fields of the block at `height`: deterministic, so the test can check every byte it reads back. */
export function crashBlockFields(height: number): WireBlock {
  const size = height % 8 === 0 ? 16 + ((height * 31) % 2000) : 100_000 + ((height * 7919) % 150_000);
  const payload = new Uint8Array(size);
  // a 251-byte pattern (prime, so it never lines up with record or page boundaries), doubled into place
  const seedBytes = Math.min(251, size);
  for (let i = 0; i < seedBytes; i++) payload[i] = (height * 131 + i * 7) & 0xff;
  for (let filled = seedBytes; filled < size; filled *= 2) payload.copyWithin(filled, 0, Math.min(filled, size - filled));
  return { miner: height % 4, t0: 3 * height, ts: 1_700_000_000_000 + height, payload };
}

function nextBlock(tip: Pick<ChainTip, 'height' | 'hash'>): ChainBlock {
  const wire = crashBlockFields(tip.height + 1);
  return { ...wire, hash: blockHash(wire), height: tip.height + 1, parent: tip.hash };
}

async function main(dir: string, genesisHex: string, burst: boolean): Promise<void> {
  const data = await openDataDir(dir, { genesisHash: fromHex(genesisHex), chainBlocksKeptMax: 1 });
  let tip: Pick<ChainTip, 'height' | 'hash'> = data.loadChain().tip;
  process.stdout.write(`ready ${tip.height}\n`);
  const inFlight = new Set<Promise<void>>();
  const append = (block: ChainBlock): void => {
    // stdout is a pipe, written synchronously on Linux: a printed line reaches the test even if a kill follows
    const p: Promise<void> = data.appendBlock(block).then(() => {
      process.stdout.write(`durable ${block.height}\n`);
      inFlight.delete(p);
    });
    inFlight.add(p);
    tip = { height: block.height, hash: block.hash };
  };
  if (burst) {
    append(nextBlock(tip));
    await Promise.all(inFlight);
    const blocks: ChainBlock[] = [];
    for (let i = 0; i < crashWriterBurstBlocks; i++) blocks.push(nextBlock(blocks.at(-1) ?? tip));
    process.stdout.write(`burst ${statSync(join(dir, DATA_DIR_FILES.chain)).size}\n`);
    for (const b of blocks) append(b);
  }
  while (tip.height < crashWriterHeightMax) {
    if (inFlight.size >= crashWriterInFlightMax) await Promise.race(inFlight);
    append(nextBlock(tip));
  }
  await Promise.all(inFlight);
  await data.close();
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [dir, genesisHex, mode] = process.argv.slice(2);
  if (dir === undefined || genesisHex === undefined) throw new Error('usage: crash-writer.ts DIR GENESIS_HEX [burst]');
  await main(dir, genesisHex, mode === 'burst');
}
