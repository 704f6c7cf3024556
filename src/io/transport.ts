/**
 * The byte streams a node talks over, passed in as js-libp2p passes its transports: a machine uses TCP
 * (tcp-transport.ts), the simulator in-memory links with seeded delays, loss and partitions
 * (src/sim/memory-network.ts). A link is a reliable, ordered byte stream in each direction; framing, the
 * handshake and everything above it are the core's (net/peer-connection.ts), the same over either.
 */
import type { StrongcastError } from '../errors.ts';

/** What a link tells its owner. */
export interface LinkHandlers {
  /** Bytes arrived, in order (any cut: a frame may span chunks). Not called while paused. */
  data(chunk: Uint8Array): void;
  /** The link is gone, exactly once: `error` says why when it failed rather than closed. */
  close(error?: string): void;
  /**
   * What was written has all been taken by the network (`writableLength` is 0 again) after some of it had to
   * wait outside a cork: the owner may hand the link more. Called at least then, perhaps more often.
   */
  drain?(): void;
}

/** One connection's byte stream. */
export interface Link {
  /** The remote IP as this side sees it (not spoofable by the peer), and its port. */
  readonly remoteAddress: string;
  readonly remotePort: number;
  /**
   * Bytes written and not yet taken by the network (corked ones included): what a peer that does not read
   * makes us hold. The kernel's send buffer is the network's: a socket counts only what waits beyond it.
   */
  readonly writableLength: number;
  /** Starts delivering to `handlers`; called once, before anything else. */
  attach(handlers: LinkHandlers): void;
  write(bytes: Uint8Array): void;
  /** Holds writes until `uncork`, so several frames leave together. */
  cork(): void;
  uncork(): void;
  /** Stops delivering data (the peer is slowed by flow control) until `resume`. */
  pause(): void;
  resume(): void;
  /**
   * Sends what was written (held by cork or not), then `last`, then closes; a peer that never closes its side
   * is cut off a bounded time later. Harmless on a link already gone.
   */
  end(last?: Uint8Array): void;
  /** Closes at once, dropping anything unsent. */
  destroy(): void;
}

/** A listening endpoint. */
export interface Listener {
  /** The port actually bound (when 0 was asked for, the one the system chose). */
  readonly port: number;
  /** Stops accepting; open links are left to their owners. */
  close(): Promise<void>;
}

/** Called once when a dial ends: the link, or why there is none. */
export type DialCallback = (err: StrongcastError | null, link?: Link) => void;

/** How a node listens and dials. */
export interface Transport {
  /**
   * Listens on host:port; every inbound link goes to `onLink`, errors of the listener after it started to
   * `onError`.
   * @throws StrongcastError ERR_PORT_IN_USE, or ERR_INVALID_OPTION for an address it cannot listen on
   */
  listen(host: string, port: number, onLink: (link: Link) => void, onError?: (message: string) => void): Promise<Listener>;
  /** Dials host:port; gives up after `timeoutMs` (ERR_CONNECT_FAILED). */
  dial(host: string, port: number, timeoutMs: number, done: DialCallback): void;
}
