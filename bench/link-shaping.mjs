/**
 * Link shaping in user space, for a multi-host testnet whose kernel has no netem: preloaded into a node
 * process (`node --import ./bench/link-shaping.mjs`), it delays every write on a TCP socket to a peer in
 * STRONGCAST_LINK_SUBNET (an address prefix, e.g. "10.") by STRONGCAST_LINK_DELAY_MS plus up to
 * STRONGCAST_LINK_JITTER_MS, and with probability STRONGCAST_LINK_LOSS adds STRONGCAST_LINK_RETRANSMIT_MS
 * (a lost segment that TCP sends again). A socket's writes stay in order (TCP never reorders a stream), and
 * `end` waits for them. Each direction of a link is shaped by its sender, so every link gets latency,
 * jitter and loss both ways. Not part of the node: only the testnet harness loads it; with no subnet set it
 * changes nothing. STRONGCAST_LINK_SEED makes the draws repeatable per process.
 */
import net from 'node:net';

const env = process.env;
const subnet = env.STRONGCAST_LINK_SUBNET ?? '';
const delayMs = Number(env.STRONGCAST_LINK_DELAY_MS ?? 0);
const jitterMs = Number(env.STRONGCAST_LINK_JITTER_MS ?? 0);
const loss = Number(env.STRONGCAST_LINK_LOSS ?? 0);
const retransmitMs = Number(env.STRONGCAST_LINK_RETRANSMIT_MS ?? 200);
let seed = Number(env.STRONGCAST_LINK_SEED ?? 1) >>> 0 || 1;

/** mulberry32: the process's own stream of draws. */
function random() {
  let t = (seed = (seed + 0x6d2b79f5) >>> 0);
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

if (subnet !== '') {
  for (const [k, v] of [['DELAY_MS', delayMs], ['JITTER_MS', jitterMs], ['LOSS', loss], ['RETRANSMIT_MS', retransmitMs]]) {
    if (!Number.isFinite(v) || v < 0) throw new Error(`STRONGCAST_LINK_${k} must be a non-negative number`);
  }
  const write = net.Socket.prototype.write;
  const end = net.Socket.prototype.end;
  /**
   * Per socket: the writes waiting (each with the time it is due, performance.now ms, never before the one
   * ahead of it), one timer for the head of the queue, and an end waiting behind them. Writes due together
   * leave together (corked), so a fast sender is not slowed by a timer per write.
   */
  const state = new WeakMap();
  const shaped = (s) => typeof s.remoteAddress === 'string' && s.remoteAddress.startsWith(subnet);
  const stateOf = (s) => {
    let st = state.get(s);
    if (!st) state.set(s, (st = { queue: [], head: 0, lastMs: 0, timer: null, end: null }));
    return st;
  };
  const flush = (s, st) => {
    st.timer = null;
    const now = performance.now();
    if (!s.destroyed) s.cork();
    while (st.head < st.queue.length && st.queue[st.head].at <= now) {
      const w = st.queue[st.head++];
      if (!s.destroyed) write.call(s, w.data, w.encoding, w.cb);
    }
    if (!s.destroyed) s.uncork();
    if (st.head === st.queue.length) {
      st.queue = [];
      st.head = 0;
      if (st.end) {
        const args = st.end;
        st.end = null;
        end.apply(s, args);
      }
    } else {
      st.timer = setTimeout(() => flush(s, st), Math.max(0, st.queue[st.head].at - now));
    }
  };
  net.Socket.prototype.write = function (chunk, encoding, cb) {
    if (!shaped(this)) return write.call(this, chunk, encoding, cb);
    const st = stateOf(this);
    const extra = delayMs + random() * jitterMs + (random() < loss ? retransmitMs : 0);
    const at = Math.max(performance.now() + extra, st.lastMs);
    st.lastMs = at;
    // A copy: the caller may reuse its buffer once write returns.
    st.queue.push({ at, data: typeof chunk === 'string' ? chunk : Buffer.from(chunk), encoding, cb });
    if (st.timer === null) st.timer = setTimeout(() => flush(this, st), Math.max(0, at - performance.now()));
    return true;
  };
  net.Socket.prototype.end = function (...args) {
    if (!shaped(this)) return end.apply(this, args);
    const st = stateOf(this);
    // end(data) writes data first: it goes through the delay like any write.
    if (args.length > 0 && typeof args[0] !== 'function') this.write(args.shift());
    if (st.head === st.queue.length) return end.apply(this, args);
    st.end = args;
    return this;
  };
}
