/**
 * A process-level clock offset, for tests and testnets that must show machines whose clocks differ:
 * preloaded with `node --import ./bench/clock-offset.mjs`, it makes Date.now read
 * STRONGCAST_CLOCK_OFFSET_MS milliseconds ahead (negative: behind). Not part of the node: only harnesses
 * load it, and it changes nothing when the variable is unset.
 */
const offsetMs = Number(process.env.STRONGCAST_CLOCK_OFFSET_MS ?? 0);
if (!Number.isFinite(offsetMs)) throw new Error('STRONGCAST_CLOCK_OFFSET_MS must be a number of ms');
if (offsetMs !== 0) {
  const realNow = Date.now;
  Date.now = () => realNow() + offsetMs;
}
