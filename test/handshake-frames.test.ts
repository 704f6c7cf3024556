/** The handshake-phase frames and their small reader, at their edges. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isStrongcastError } from '../src/errors.ts';
import { encodeFrame } from '../src/wire/framing.ts';
import { encodeNoiseFrame, encodeRejectFrame, handshakeFrameBytesMax, HandshakeFrameReader } from '../src/wire/handshake-frames.ts';
import type { Message } from '../src/wire/schema.ts';

/** Reads every whole frame of `bytes`, or the error that stopped the reader. */
function readAll(bytes: Uint8Array, reader = new HandshakeFrameReader()): { frames: unknown[]; error?: unknown; at: number } {
  const frames: unknown[] = [];
  let at = 0;
  try {
    while (at < bytes.byteLength) {
      const r = reader.read(bytes, at);
      at = r.at;
      if (r.frame) frames.push(r.frame);
    }
  } catch (e) {
    return { frames, error: e, at };
  }
  return { frames, at };
}

test('handshakeFrameBytesMax: a body of exactly 1,024 bytes is read; one byte more is refused from the header, nothing held', () => {
  assert.is(handshakeFrameBytesMax, 1024);
  const max = encodeNoiseFrame(new Uint8Array(handshakeFrameBytesMax - 1).fill(7));
  const r = readAll(max);
  assert.is(r.error, undefined);
  assert.is(r.frames.length, 1);
  const over = encodeNoiseFrame(new Uint8Array(handshakeFrameBytesMax).fill(7));
  const reader = new HandshakeFrameReader();
  const o = readAll(over.subarray(0, 4), reader);
  assert.ok(isStrongcastError(o.error, 'ERR_FRAME_TOO_LARGE'), String(o.error));
  assert.is(reader.bufferedBytes, 4, 'only the header was read');
  assert.ok(isStrongcastError(readAll(Buffer.from([0, 0, 0, 0])).error, 'ERR_FRAME_EMPTY'));
});

test('the reader stops at the end of each frame, so what follows the handshake is left for the sealed-frame decoder', () => {
  const noise = encodeNoiseFrame(new Uint8Array([1, 2, 3]));
  const after = Buffer.from([9, 9, 9, 9, 9]);
  const stream = Buffer.concat([noise, after]);
  const r = new HandshakeFrameReader().read(stream, 0);
  assert.equal(r.frame, { t: 'noise', message: new Uint8Array([1, 2, 3]) });
  assert.is(r.at, noise.byteLength);
  // and in pieces: byte by byte, the frame comes out whole at its last byte
  const reader = new HandshakeFrameReader();
  const got: unknown[] = [];
  for (let i = 0; i < noise.byteLength; i++) {
    const step = reader.read(noise.subarray(i, i + 1), 0);
    if (step.frame) got.push(step.frame);
  }
  assert.equal(got, [{ t: 'noise', message: new Uint8Array([1, 2, 3]) }]);
});

test('a reject frame carries its code and reason; the reason is cut to 512 bytes', () => {
  const r = readAll(encodeRejectFrame('ERR_WRONG_NETWORK', 'peer is on network x'));
  assert.equal(r.frames, [{ t: 'reject', code: 'ERR_WRONG_NETWORK', reason: 'peer is on network x' }]);
  const long = readAll(encodeRejectFrame('ERR_BANNED', 'y'.repeat(2000)));
  assert.is((long.frames[0] as { reason: string }).reason.length, 512);
  assert.ok(isStrongcastError(readAll(Buffer.from([0, 0, 0, 2, 2, 9])).error, 'ERR_BAD_HANDSHAKE'), 'a code longer than the frame');
});

test('an unknown kind is ERR_BAD_HANDSHAKE; the plaintext hello of versions 1 to 3 is ERR_WRONG_VERSION, any other msgpack ERR_BAD_HANDSHAKE', () => {
  assert.ok(isStrongcastError(readAll(Buffer.from([0, 0, 0, 1, 3])).error, 'ERR_BAD_HANDSHAKE'));
  const hello = encodeFrame({ t: 'hello', v: 3, net: 'n', key: new Uint8Array(32), host: '', port: 0, nonce: new Uint8Array(32) } as unknown as Message);
  assert.ok(isStrongcastError(readAll(hello).error, 'ERR_WRONG_VERSION'));
  assert.ok(isStrongcastError(readAll(encodeFrame({ t: 'ping', n: 1 })).error, 'ERR_BAD_HANDSHAKE'));
});

test.run();
