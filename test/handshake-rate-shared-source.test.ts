/**
 * The handshake rate (handshakesPerIpPerSec) is kept per exact address. A start is paid at accept, before any
 * other check, by any connection that does not complete (one closed at once included); kept per IPv6 /64, as
 * it was when a review found this, an attacker with one address in an honest node's /64 (a home or office
 * network, a hosting provider's shared /64) that opens two connections a second and drops them kept the
 * bucket empty, and every inbound handshake of the honest node was refused (0 of 11 in 60 s).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { HandshakeRate, handshakeRateDefaults, handshakeRateSource } from '../src/peers/handshake-rate.ts';
import { nodeDefaults } from '../src/core/node-options.ts';

test('handshakesPerIpPerSec: an attacker at another address of an honest node\'s /64 dropping two connections a second does not refuse the honest node\'s handshakes', () => {
  const rate = new HandshakeRate(handshakeRateDefaults.handshakesPerIpPerSec, nodeDefaults.handshakesPendingPerIpMax, handshakeRateDefaults.handshakeRateSourcesMax);
  const attacker = handshakeRateSource('2001:db8:0:1::bad');
  const honest = handshakeRateSource('2001:db8:0:1::1');
  let admitted = 0;
  let tried = 0;
  for (let t = 0; t <= 60_000; t += 1) {
    if (t % 500 === 0) rate.take(attacker, t); // two connections a second, dropped: never complete, never refunded
    // The honest node (there first or not: its handshakes complete) dials from 5 s on with a backoff: after
    // 1, 2, 4 and 8 s, then every 10 s; the attacker's connections land just before some of its tries.
    if ([5000, 6000, 8000, 12_000, 20_000].includes(t) || (t > 20_000 && t % 10_000 === 0) || t === 35_250 || t === 47_750) {
      tried++;
      if (rate.take(honest, t)) {
        admitted++;
        rate.completed(honest, t);
      }
    }
  }
  assert.ok(admitted > 0, `honest handshakes admitted ${admitted} of ${tried} in 60 s`);
});

test.run();
