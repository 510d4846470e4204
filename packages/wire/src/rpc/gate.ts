import net from 'node:net';
import type * as grpc from '@grpc/grpc-js';
import { z } from 'zod';
import { type ListenerKind, serverCredentials } from './credentials.js';
import { type LogSink, throttledLog } from './throttled-log.js';
import {
  HTTP2_FIRST_BYTE,
  type ListenerTls,
  refusePlaintextGrpc,
  TLS_HANDSHAKE_BYTE,
  TlsAcceptor,
} from './tls-accept.js';

/** What a listener allows its clients (flags and config keys shared by both apps). */
export const ConnectionLimitsSchema = z.object({
  /** Connections open at once, from everyone; a new one beyond it is closed at once. */
  maxConnections: z.coerce.number().int().min(1).max(1_000_000).default(10_000),
  /** Connections open at once from one IP address (Kafka's max.connections.per.ip). */
  maxConnectionsPerIp: z.coerce.number().int().min(1).max(1_000_000).default(1_000),
  /**
   * A connection with no call in flight for this long is closed, and one that has sent
   * nothing at all within it (Kafka's connections.max.idle.ms, 10 minutes).
   */
  connectionsMaxIdleMs: z.coerce.number().int().min(100).max(86_400_000).default(600_000),
});
export type ConnectionLimits = z.infer<typeof ConnectionLimitsSchema>;

export const CONNECTION_LIMIT_FLAGS = [
  { key: 'maxConnections', flag: 'max-connections' },
  { key: 'maxConnectionsPerIp', flag: 'max-connections-per-ip' },
  { key: 'connectionsMaxIdleMs', flag: 'connections-max-idle-ms' },
] as const;

/** A socket must send its first bytes within this long (or the idle time, if shorter). */
const FIRST_BYTES_MS = 10_000;
/** Refusals are logged at most this often per listener. */
const LOG_EVERY_MS = 10_000;

/**
 * Counts a listener's open connections, in all and per IP address, and refuses (closes at
 * once) a new one past a limit; a connection that says nothing is closed after a while. The
 * one place both apps' listeners (gRPC, and Kafka's beside it) admit a socket.
 */
export class ConnectionGate {
  private total = 0;
  private readonly perIp = new Map<string, number>();
  private refused = 0;
  private lastLog = 0;

  constructor(
    readonly limits: ConnectionLimits,
    readonly log: LogSink = () => undefined,
  ) {}

  get open(): number {
    return this.total;
  }

  /** Counts `socket` until it closes; false (and the socket destroyed) past a limit. */
  admit(socket: net.Socket): boolean {
    const ip = socket.remoteAddress ?? '?';
    const fromIp = this.perIp.get(ip) ?? 0;
    if (this.total >= this.limits.maxConnections || fromIp >= this.limits.maxConnectionsPerIp) {
      this.refuse(ip, fromIp);
      socket.destroy();
      return false;
    }
    this.total += 1;
    this.perIp.set(ip, fromIp + 1);
    socket.once('close', () => {
      this.total -= 1;
      const n = (this.perIp.get(ip) ?? 1) - 1;
      if (n > 0) this.perIp.set(ip, n);
      else this.perIp.delete(ip);
    });
    return true;
  }

  /**
   * Calls `then` with the socket once its first bytes arrived (they are put back first); a
   * socket silent that long is closed. Past them, the protocol's own idle rule holds.
   */
  firstBytes(socket: net.Socket, then: (socket: net.Socket, first: Buffer) => void): void {
    const timer = setTimeout(
      () => socket.destroy(),
      Math.min(FIRST_BYTES_MS, this.limits.connectionsMaxIdleMs),
    );
    const done = () => clearTimeout(timer);
    socket.once('close', done);
    socket.once('data', (chunk: Buffer) => {
      done();
      socket.pause();
      socket.unshift(chunk);
      then(socket, chunk);
    });
  }

  private refuse(ip: string, fromIp: number): void {
    this.refused += 1;
    const now = Date.now();
    if (now - this.lastLog < LOG_EVERY_MS) return;
    this.lastLog = now;
    this.log(
      {
        remote: ip,
        refused: this.refused,
        open: this.total,
        maxConnections: this.limits.maxConnections,
        openFromRemote: fromIp,
        maxConnectionsPerIp: this.limits.maxConnectionsPerIp,
      },
      'refusing connections',
    );
  }
}

/**
 * gRPC server options for a listener: a connection with no call in flight for the idle time
 * is closed, and every connection is pinged now and then so dead peers are found.
 */
export function grpcServerOptions(limits: ConnectionLimits): grpc.ServerOptions {
  return {
    'grpc.max_connection_idle_ms': limits.connectionsMaxIdleMs,
    'grpc.keepalive_time_ms': 60_000,
    'grpc.keepalive_timeout_ms': 20_000,
  };
}

export interface GatedListener {
  port: number;
  close(): void;
}

export interface ListenOptions {
  /** TLS on this listener: sockets are decrypted before anything else reads them. */
  tls?: ListenerTls | undefined;
  /**
   * Connections that do not open with the HTTP/2 preface go here instead of grpc-js (the
   * broker's Kafka clients: a Kafka request opens with its size, whose first byte is never 'P'
   * for a request below 1.3 GB). With TLS, the first decrypted bytes decide.
   */
  other?: ((socket: net.Socket) => void) | undefined;
}

/**
 * Serves `server` on `address` (host:port) through `gate`: a TCP listener of our own admits
 * each socket (and terminates TLS when configured), then hands it to grpc-js, which speaks
 * HTTP/2 on it as on its own port, or to `opts.other`.
 */
export function listenGated(
  server: grpc.Server,
  address: string,
  kind: ListenerKind,
  gate: ConnectionGate,
  opts: ListenOptions = {},
): Promise<GatedListener> {
  const injector = server.createConnectionInjector(serverCredentials(kind));
  const { other } = opts;
  return listenSockets(
    address,
    gate,
    (socket, first) => {
      if (other && first[0] !== HTTP2_FIRST_BYTE) other(socket);
      else injector.injectConnection(socket);
    },
    opts,
  );
}

/**
 * A TCP listener on `address` that admits each socket through `gate` and hands it to `route`
 * once its first bytes arrived (they are put back in the socket first). With TLS, those are
 * the first decrypted bytes; a plaintext client there, or a TLS client on a plaintext
 * listener, is refused (a gRPC one with a status saying why) and logged.
 */
export function listenSockets(
  address: string,
  gate: ConnectionGate,
  route: (socket: net.Socket, first: Buffer) => void,
  opts: ListenOptions = {},
): Promise<GatedListener> {
  const sockets = new Set<net.Socket>();
  // Refusals name the listener: a node has several, and an operator needs to know which.
  const log: LogSink = (fields, msg) => gate.log({ ...fields, address }, msg);
  const mismatch = mismatchLogger(log);
  const acceptor = opts.tls
    ? new TlsAcceptor(opts.tls, (secure) => gate.firstBytes(secure, route), log)
    : undefined;
  const tcp = net.createServer((socket) => {
    if (!gate.admit(socket)) return;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    gate.firstBytes(socket, (s, first) => {
      const tlsHello = first[0] === TLS_HANDSHAKE_BYTE;
      if (acceptor && tlsHello) acceptor.accept(s);
      else if (!acceptor && !tlsHello) route(s, first);
      else {
        mismatch(s, acceptor !== undefined);
        if (acceptor && first[0] === HTTP2_FIRST_BYTE) refusePlaintextGrpc(s, address);
        else s.destroy();
      }
    });
  });
  const at = address.lastIndexOf(':');
  const host = address.slice(0, at).replace(/^\[(.*)\]$/, '$1');
  return new Promise((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(Number(address.slice(at + 1)), host, () => {
      tcp.off('error', reject);
      resolve({
        port: (tcp.address() as net.AddressInfo).port,
        close: () => {
          tcp.close();
          for (const s of sockets) s.destroy();
        },
      });
    });
  });
}

/** Logs (each kind at most every 10 s) clients that speak plaintext to TLS or the reverse. */
function mismatchLogger(log: LogSink): (s: net.Socket, tlsPort: boolean) => void {
  const complain = throttledLog(log, LOG_EVERY_MS);
  return (s, tlsPort) =>
    complain(
      String(tlsPort),
      { remote: s.remoteAddress ?? '?' },
      tlsPort
        ? 'refused a plaintext client on a TLS listener'
        : 'refused a TLS client on a plaintext listener',
    );
}
