/**
 * TCP, the transport of a real network: node:net sockets behind the Link interface. Nagle is off (frames
 * are coalesced by cork/uncork in the connection instead), and a link ended with a last frame is destroyed
 * a second later if the peer never closes its side. Bytes the kernel's send buffer had no room for wait in
 * the socket (its writableLength); the owner hears when they have all gone (`drain`).
 */
import { connect as netConnect, createServer, isIP, type Socket } from 'node:net';
import { StrongcastError } from '../errors.ts';
import { isLoopback } from '../peers/offences.ts';
import type { DialCallback, Link, LinkHandlers, Listener, Transport } from './transport.ts';

/** How long an ended link waits for the peer to close before it is destroyed, in ms. */
export const endLingerMs = 1000;

/** A TCP socket as a Link. */
class TcpLink implements Link {
  readonly remoteAddress: string;
  readonly remotePort: number;
  #paused = false;
  #handlers: LinkHandlers | null = null;
  /** Bytes waited in the socket outside a cork since the last drain: the owner hears when they are gone. */
  #waiting = false;
  /**
   * Every write's callback: Node's own 'drain' comes only after a write that reached the socket's high-water
   * mark, and the owner may wait for less.
   */
  readonly #written = (): void => {
    if (!this.#waiting || this.socket.writableLength > 0 || this.socket.destroyed) return;
    this.#waiting = false;
    this.#handlers?.drain?.();
  };

  constructor(private readonly socket: Socket) {
    this.remoteAddress = socket.remoteAddress ?? '';
    this.remotePort = socket.remotePort ?? 0;
    socket.setNoDelay(true);
    // Until (and after) the owner attaches: a socket error with no listener would crash the process.
    socket.on('error', () => undefined);
  }

  get writableLength(): number {
    return this.socket.writableLength;
  }

  attach(h: LinkHandlers): void {
    this.#handlers = h;
    let closed = false;
    const close = (error?: string) => {
      if (closed) return;
      closed = true;
      h.close(error);
    };
    this.socket.on('data', (chunk: Buffer) => h.data(chunk));
    this.socket.on('error', (e: Error) => close(e.message));
    this.socket.on('close', () => close());
  }

  write(bytes: Uint8Array): void {
    this.socket.write(bytes, this.#written);
    this.#noteWaiting();
  }

  cork(): void {
    this.socket.cork();
  }

  uncork(): void {
    this.socket.uncork();
    this.#noteWaiting();
  }

  /** Bytes left in the socket once it is uncorked wait for the kernel's buffer: a drain follows when they are gone. */
  #noteWaiting(): void {
    if (this.socket.writableCorked === 0 && this.socket.writableLength > 0) this.#waiting = true;
  }

  pause(): void {
    this.#paused = true;
    this.socket.pause();
  }

  resume(): void {
    this.#paused = false;
    this.socket.resume();
  }

  end(last?: Uint8Array): void {
    // A paused socket never reads the peer's FIN, and is not even a live handle: read (and drop) to the end.
    if (this.#paused) this.resume();
    if (this.socket.destroyed) return;
    if (last) this.socket.end(last);
    else this.socket.end();
    const s = this.socket;
    setTimeout(() => s.destroy(), endLingerMs).unref();
  }

  destroy(): void {
    if (this.#paused) this.resume();
    this.socket.destroy();
  }
}

/** A connected socket (or any net.Socket-like duplex, for tests) as a Link. */
export function socketLink(socket: Socket): Link {
  return new TcpLink(socket);
}

/** Options of the TCP transport. */
export interface TcpTransportOptions {
  /**
   * The address the node listens on: where it is one specific address, dials leave from it too (see
   * dialSourceFor), so the address peers see, count per IP and network group, and tell others of is the one
   * the node listens on. @default none: the system picks
   */
  listenHost?: string;
}

/**
 * The local address a dial to `destination` leaves from: `listenHost` when it is one specific IP of the
 * destination's family that can reach it (a loopback address only reaches loopback), else undefined (the
 * system picks; also for a host name, whose family is not known before it resolves).
 */
export function dialSourceFor(listenHost: string | undefined, destination: string): string | undefined {
  const family = isIP(listenHost ?? '');
  if (family === 0 || family !== isIP(destination)) return undefined;
  if (listenHost === '0.0.0.0' || listenHost === '::') return undefined;
  if (isLoopback(listenHost!) && !isLoopback(destination)) return undefined;
  return listenHost;
}

/** The TCP transport. */
export function tcpTransport(options: TcpTransportOptions = {}): Transport {
  return {
    listen(host, port, onLink, onError): Promise<Listener> {
      const server = createServer((s) => onLink(new TcpLink(s)));
      return new Promise((resolve, reject) => {
        server.once('error', (e: NodeJS.ErrnoException) => {
          const code = e.code === 'EADDRINUSE' ? 'ERR_PORT_IN_USE' : 'ERR_INVALID_OPTION';
          reject(new StrongcastError(code, `cannot listen on ${host}:${port}: ${e.code ?? e.message}`, { cause: e }));
        });
        server.listen(port, host, () => {
          // After listening, errors concern single accepts; links report their own.
          server.on('error', (e) => onError?.(e.message));
          const addr = server.address();
          resolve({
            port: typeof addr === 'object' && addr ? addr.port : port,
            close: () => new Promise<void>((r) => server.close(() => r())),
          });
        });
      });
    },
    dial(host, port, timeoutMs, done: DialCallback): void {
      const key = `${host}:${port}`;
      const localAddress = dialSourceFor(options.listenHost, host);
      const socket = netConnect({ host, port, ...(localAddress ? { localAddress } : {}) });
      const onError = (e: Error): void => {
        done(new StrongcastError('ERR_CONNECT_FAILED', `cannot connect to ${key}: ${(e as NodeJS.ErrnoException).code ?? e.message}`));
      };
      socket.once('error', onError);
      socket.setTimeout(timeoutMs, () => socket.destroy(new Error('connect timeout')));
      socket.once('connect', () => {
        socket.off('error', onError);
        socket.setTimeout(0);
        done(null, new TcpLink(socket));
      });
    },
  };
}
