/**
 * The simulated network: in-memory links between SimHosts behind the same Transport interface as TCP, so the
 * node core above runs unchanged. Each direction of a link is an ordered, reliable byte stream (as TCP is):
 * what is written arrives once, in order, after a delay the world's policy decides per send (latency,
 * jitter, loss as a retransmission delay, a partition as a wait until it heals); a write may arrive cut
 * into pieces. A paused reader's data waits, in order. Killing a host drops its links (peers see them close
 * a delay later) and its listeners.
 *
 * By default a link carries any number of bytes at once, so the only bytes a writer holds (`writableLength`)
 * are the ones it corked. A policy may give a direction a capacity instead (`capacity`): bytes then leave at
 * its rate, the socket's send buffer holds the first `sendBufferBytes` of those waiting, and only the rest
 * counts in `writableLength`, as a TCP socket's userland queue does when the kernel's buffer is full; once
 * that is gone again the owner hears of it (`drain`), as from a socket.
 */
import { StrongcastError } from '../errors.ts';
import type { DialCallback, Link, LinkHandlers, Listener, Transport } from '../io/transport.ts';
import type { Scheduler } from './scheduler.ts';
import type { SimHost } from './sim-host.ts';

/** How the simulated network treats bytes in flight. */
export interface NetworkPolicy {
  /** One-way delay, in ms, of bytes `from` sends to `to` now. */
  delayMs(from: SimHost, to: SimHost): number;
  /** Offsets at which a write of `length` bytes is cut into pieces (sorted, inside 1..length-1); none by default. */
  cuts?(length: number): number[];
  /**
   * The capacity of the direction from `from` to `to`, asked once per link; undefined (the default): bytes
   * leave at once, whatever their number.
   */
  capacity?(from: SimHost, to: SimHost): LinkCapacity | undefined;
}

/** A direction of a link as a bottleneck: a rate, and a send buffer in front of it. */
export interface LinkCapacity {
  /** Bytes the link carries per ms (125,000 is 1 Gbit/s). */
  bytesPerMs: number;
  /** Bytes waiting to leave that the socket's send buffer holds (the kernel's); only the rest is `writableLength`. */
  sendBufferBytes: number;
}

/** Counters of a network, for checks that the runs took the paths they claim. */
export interface NetworkCounters {
  dials: number;
  refused: number;
  links: number;
  bytes: number;
}

interface Listening {
  host: SimHost;
  inc: number;
  onLink: (link: Link) => void;
}

/** One side of an in-memory connection, owned by `host` (incarnation `inc`). */
export class MemoryLink implements Link {
  peer!: MemoryLink;
  #handlers: LinkHandlers | null = null;
  #closed = false;
  #peerEnded = false;
  #paused = false;
  #inbox: Uint8Array[] = [];
  #corked = false;
  #held: Uint8Array[] = [];
  #heldBytes = 0;
  #lastArrivalMs = Number.NEGATIVE_INFINITY;
  /** This direction's capacity (undefined: none), asked of the policy at the first write. */
  #capacity: LinkCapacity | undefined | null = null;
  /** Bytes transmitted that have not left yet at #backlogAtMs (with a capacity only). */
  #backlogBytes = 0;
  #backlogAtMs = 0;
  /** A check for the owner's drain is due (with a capacity only: without one nothing waits past a cork). */
  #drainDue = false;

  constructor(
    readonly net: MemoryNetwork,
    readonly host: SimHost,
    readonly inc: number,
    readonly remoteAddress: string,
    readonly remotePort: number,
  ) {}

  get writableLength(): number {
    const corked = this.#heldBytes;
    const cap = this.#linkCapacity();
    return cap === undefined ? corked : corked + Math.max(0, this.#backlogNow(cap) - cap.sendBufferBytes);
  }

  get closed(): boolean {
    return this.#closed;
  }

  attach(h: LinkHandlers): void {
    this.#handlers = h;
    this.#scheduleDrain();
  }

  write(bytes: Uint8Array): void {
    if (this.#closed) return;
    // A copy: a frame may live in a pooled buffer that is reused once the write returns.
    const copy = Uint8Array.from(bytes);
    if (this.#corked) {
      this.#held.push(copy);
      this.#heldBytes += copy.byteLength;
      return;
    }
    this.#transmit(copy);
    this.#awaitDrain();
  }

  cork(): void {
    this.#corked = true;
  }

  uncork(): void {
    this.#corked = false;
    this.#flushHeld();
    this.#awaitDrain();
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    this.#scheduleDrain();
  }

  end(last?: Uint8Array): void {
    if (this.#closed) return;
    this.#corked = false;
    this.#flushHeld();
    if (last) this.#transmit(Uint8Array.from(last));
    this.#close();
  }

  destroy(): void {
    if (this.#closed) return;
    this.#held = [];
    this.#heldBytes = 0;
    this.#close();
  }

  /** The host died: this side is gone at once; the peer sees the link close a delay later. */
  drop(): void {
    if (!this.#closed) this.#close();
  }

  #flushHeld(): void {
    if (this.#held.length === 0) return;
    const all = new Uint8Array(this.#heldBytes);
    let at = 0;
    for (const b of this.#held) {
      all.set(b, at);
      at += b.byteLength;
    }
    this.#held = [];
    this.#heldBytes = 0;
    this.#transmit(all);
  }

  /**
   * When `length` bytes sent now arrive: once the bytes before them and they have left (with a capacity),
   * plus the policy's delay, never before what was sent earlier (a stream is ordered).
   */
  #nextArrival(length = 0): number {
    const sched = this.net.sched;
    const cap = this.#linkCapacity();
    let leftAtMs = sched.now;
    if (cap !== undefined) {
      this.#backlogBytes = this.#backlogNow(cap) + length;
      // Whole ms, as every other time of the timeline.
      leftAtMs += Math.ceil(this.#backlogBytes / cap.bytesPerMs);
    }
    this.#lastArrivalMs = Math.max(leftAtMs + this.net.policy.delayMs(this.host, this.peer.host), this.#lastArrivalMs);
    return this.#lastArrivalMs;
  }

  #linkCapacity(): LinkCapacity | undefined {
    if (this.#capacity === null) this.#capacity = this.net.policy.capacity?.(this.host, this.peer.host);
    return this.#capacity;
  }

  /** Bytes transmitted that have still not left now: the backlog, drained at the link's rate since it was counted. */
  #backlogNow(cap: LinkCapacity): number {
    const now = this.net.sched.now;
    this.#backlogBytes = Math.max(0, this.#backlogBytes - (now - this.#backlogAtMs) * cap.bytesPerMs);
    this.#backlogAtMs = now;
    return this.#backlogBytes;
  }

  /**
   * Bytes that wait beyond the send buffer (with a capacity) are gone once the link has carried them: the
   * owner hears then (a socket's drain), unless it corked new writes meanwhile (their uncork looks again).
   */
  #awaitDrain(): void {
    const cap = this.#linkCapacity();
    if (cap === undefined || this.#drainDue || this.#closed) return;
    const waiting = this.#backlogNow(cap) - cap.sendBufferBytes;
    if (waiting <= 0) return;
    this.#drainDue = true;
    this.host.at(this.net.sched.now + Math.ceil(waiting / cap.bytesPerMs), () => {
      this.#drainDue = false;
      if (this.#closed || this.#corked) return;
      if (this.#backlogNow(cap) > cap.sendBufferBytes) return this.#awaitDrain();
      this.#handlers?.drain?.();
    });
  }

  #transmit(bytes: Uint8Array): void {
    this.net.counters.bytes += bytes.byteLength;
    const cuts = this.net.policy.cuts?.(bytes.byteLength) ?? [];
    const arrival = this.#nextArrival(bytes.byteLength);
    const to = this.peer;
    let from = 0;
    for (const cut of [...cuts, bytes.byteLength]) {
      if (cut <= from || cut > bytes.byteLength) continue;
      const piece = bytes.subarray(from, cut);
      from = cut;
      this.net.sched.at(arrival, () => to.host.run(to.inc, () => to.#arrive(piece)));
    }
  }

  #close(): void {
    this.#closed = true;
    this.#inbox = [];
    this.net.forget(this);
    const to = this.peer;
    this.net.sched.at(this.#nextArrival(), () => to.host.run(to.inc, () => to.#onPeerEnded()));
  }

  #arrive(chunk: Uint8Array): void {
    if (this.#closed) return;
    this.#inbox.push(chunk);
    this.#scheduleDrain();
  }

  #onPeerEnded(): void {
    this.#peerEnded = true;
    this.#scheduleDrain();
  }

  /** Hands waiting data to the owner, in order, one chunk per event, while it reads; then the peer's close. */
  #scheduleDrain(): void {
    this.host.at(this.net.sched.now, () => {
      if (this.#closed || this.#paused || this.#handlers === null) return;
      const chunk = this.#inbox.shift();
      if (chunk) {
        this.#handlers.data(chunk);
        if (this.#inbox.length > 0 || this.#peerEnded) this.#scheduleDrain();
      } else if (this.#peerEnded) {
        this.#closed = true;
        this.net.forget(this);
        this.#handlers.close();
      }
    });
  }
}

/** The in-memory network every simulated host's transport is attached to. */
export class MemoryNetwork {
  readonly counters: NetworkCounters = { dials: 0, refused: 0, links: 0, bytes: 0 };
  readonly #listening = new Map<string, Listening>();
  readonly #links = new Map<SimHost, Set<MemoryLink>>();
  #nextPort = 40_000;

  constructor(
    readonly sched: Scheduler,
    readonly policy: NetworkPolicy,
  ) {}

  /** The transport of `host`'s current incarnation. */
  transport(host: SimHost): Transport {
    const inc = host.incarnation;
    return {
      listen: (_bindHost, port, onLink) => Promise.resolve(this.#listen(host, inc, port, onLink)),
      dial: (toHost, port, timeoutMs, done) => this.#dial(host, inc, toHost, port, timeoutMs, done),
    };
  }

  /** A kill: every link of `host` is dropped (peers see each close after a link delay), its listeners go. */
  dropHost(host: SimHost): void {
    for (const link of this.#links.get(host) ?? []) link.drop();
    this.#links.delete(host);
    for (const [k, l] of this.#listening) if (l.host === host) this.#listening.delete(k);
  }

  /** A link that closed: no longer dropped with its host. */
  forget(link: MemoryLink): void {
    this.#links.get(link.host)?.delete(link);
  }

  #listen(host: SimHost, inc: number, port: number, onLink: (link: Link) => void): Listener {
    const bound = port === 0 ? this.#nextPort++ : port;
    const key = `${host.ip}:${bound}`;
    const live = this.#listening.get(key);
    if (live && live.host.alive && live.inc === live.host.incarnation) {
      throw new StrongcastError('ERR_PORT_IN_USE', `cannot listen on ${key}: EADDRINUSE`);
    }
    this.#listening.set(key, { host, inc, onLink });
    return {
      port: bound,
      close: () => {
        if (this.#listening.get(key)?.inc === inc) this.#listening.delete(key);
        return Promise.resolve();
      },
    };
  }

  #dial(from: SimHost, inc: number, toHost: string, port: number, timeoutMs: number, done: DialCallback): void {
    this.counters.dials++;
    const target = this.#listening.get(`${toHost}:${port}`);
    const up = target !== undefined && target.host.alive && target.inc === target.host.incarnation;
    const there = up ? this.policy.delayMs(from, target.host) : 1;
    const fail = (why: string, afterMs: number): void => {
      this.counters.refused++;
      from.at(this.sched.now + afterMs, () => done(new StrongcastError('ERR_CONNECT_FAILED', `cannot connect to ${toHost}:${port}: ${why}`)));
    };
    if (!up) return fail('ECONNREFUSED', 2 * there);
    if (2 * there > timeoutMs) return fail('connect timeout', timeoutMs);
    this.sched.at(this.sched.now + there, () => this.#accept(from, inc, target, port, done));
  }

  /** The SYN reached a listener: both sides get their link; the dialer hears of it a delay later. */
  #accept(from: SimHost, inc: number, target: Listening, port: number, done: DialCallback): void {
    if (!target.host.alive || target.inc !== target.host.incarnation) {
      this.counters.refused++;
      return from.at(this.sched.now + this.policy.delayMs(target.host, from), () => done(new StrongcastError('ERR_CONNECT_FAILED', `cannot connect to ${target.host.ip}:${port}: ECONNREFUSED`)));
    }
    const ephemeral = this.#nextPort++;
    const client = new MemoryLink(this, from, inc, target.host.ip, port);
    const server = new MemoryLink(this, target.host, target.inc, from.ip, ephemeral);
    client.peer = server;
    server.peer = client;
    this.counters.links++;
    for (const [h, l] of [[from, client], [target.host, server]] as const) {
      let set = this.#links.get(h);
      if (!set) this.#links.set(h, (set = new Set()));
      set.add(l);
    }
    target.host.run(target.inc, () => target.onLink(server));
    const back = this.sched.now + this.policy.delayMs(target.host, from);
    this.sched.at(back, () => {
      // A dialer that died or was restarted meanwhile never learns of the link: it is dropped.
      if (!from.alive || from.incarnation !== inc) return client.drop();
      from.run(inc, () => done(null, client));
    });
  }
}
