/**
 * The dialing side of the handshake benchmark, in a process of its own: keeps `concurrent` dialers in
 * flight against a node, each running the encrypted handshake with a fresh identity and closing as soon as
 * the node accepted it (its first sealed frame), then dialing again. Runs until killed.
 *
 *   node --import tsx bench/handshake/dialer.ts PORT NETWORK_ID CONCURRENT
 */
import { connect } from 'node:net';
import { generateIdentity } from '../../src/crypto/keys.ts';
import { SecureSession } from '../../test/helpers/secure-session.ts';

const [port, networkId, concurrent] = [Number(process.argv[2]), process.argv[3] ?? 'bench-handshake', Number(process.argv[4] ?? 16)];
/** A few identities, reused: making one costs a key derivation the node never sees. */
const identities = Array.from({ length: 64 }, () => generateIdentity());
let next = 0;

function dialOnce(): Promise<void> {
  return new Promise((resolve) => {
    const session = new SecureSession({ key: identities[next++ % identities.length]!, networkId, initiator: true });
    const socket = connect({ host: '127.0.0.1', port }, () => {
      for (const b of session.start()) socket.write(b);
    });
    const done = (): void => {
      socket.destroy();
      resolve();
    };
    socket.on('data', (chunk: Buffer) => {
      const { out, messages, error } = session.push(chunk);
      for (const b of out) socket.write(b);
      if (error || messages.length > 0) done();
    });
    socket.on('error', done);
    socket.on('close', done);
  });
}

async function dialer(): Promise<void> {
  for (;;) await dialOnce();
}

for (let i = 0; i < concurrent; i++) void dialer();
