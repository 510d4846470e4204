import http2 from 'node:http2';
import type net from 'node:net';
import tls from 'node:tls';
import { type LogSink, throttledLog } from './throttled-log.js';
import type { TlsClientAuth, TlsFiles, TlsMaterial } from './tls.js';

/** The first byte of a TLS record carrying a handshake (a ClientHello opens with it). */
export const TLS_HANDSHAKE_BYTE = 0x16;
/** 'P', the first byte of the HTTP/2 preface ("PRI * HTTP/2.0..."), which gRPC opens with. */
export const HTTP2_FIRST_BYTE = 0x50;
/** A TLS handshake must be over within this long. */
const HANDSHAKE_MS = 10_000;
const LOG_EVERY_MS = 10_000;

/** What a listener's TLS asks of its clients. */
export interface ListenerTls {
  files: TlsFiles;
  /** `required` for node-to-node listeners; the client listener's setting otherwise. */
  clientAuth: TlsClientAuth;
}

/** The peer's verified certificate's common name, or undefined (plaintext, none, unverified). */
export function verifiedPeerName(socket: net.Socket): string | undefined {
  if (!(socket instanceof tls.TLSSocket) || !socket.authorized) return undefined;
  const cn = socket.getPeerCertificate().subject?.CN;
  return typeof cn === 'string' && cn ? cn : Array.isArray(cn) ? cn[0] : undefined;
}

/**
 * Terminates TLS on a listener's sockets (ours rather than grpc-js's, so that the broker's
 * port can tell gRPC from Kafka after decryption, and both see the same client certificate):
 * one tls.Server that never listens, fed each accepted socket. New certificates from `files`
 * apply to new connections at once.
 */
export class TlsAcceptor {
  private readonly server: tls.Server;
  private readonly complaint: ReturnType<typeof throttledLog>;

  constructor(opts: ListenerTls, onSecure: (socket: tls.TLSSocket) => void, log: LogSink) {
    this.complaint = throttledLog(log, LOG_EVERY_MS);
    const m = opts.files.material;
    this.server = tls.createServer({
      ...this.contextOptions(m),
      requestCert: opts.clientAuth !== 'none',
      rejectUnauthorized: opts.clientAuth === 'required',
      // gRPC negotiates h2; Kafka clients send no ALPN at all.
      ALPNProtocols: ['h2'],
      handshakeTimeout: HANDSHAKE_MS,
      minVersion: 'TLSv1.2',
    });
    this.server.on('secureConnection', (socket: tls.TLSSocket) => {
      // Asked for a certificate, a client may send none; one it sends must be the cluster's.
      if (!socket.authorized && Object.keys(socket.getPeerCertificate()).length > 0) {
        this.complain(
          new Error(
            `a client certificate not signed by the cluster's CA (${socket.authorizationError})`,
          ),
          socket,
        );
        socket.destroy();
        return;
      }
      onSecure(socket);
    });
    this.server.on('tlsClientError', (err, socket) => this.complain(err, socket));
    opts.files.onChange((next) => this.server.setSecureContext(this.contextOptions(next)));
  }

  /** Starts the TLS handshake on a freshly accepted socket. */
  accept(socket: net.Socket): void {
    this.server.emit('connection', socket);
  }

  private contextOptions(m: TlsMaterial): tls.SecureContextOptions {
    return { cert: m.cert, key: m.key, ca: m.ca };
  }

  private complain(err: Error, socket: tls.TLSSocket): void {
    const code = (err as NodeJS.ErrnoException).code ?? err.message;
    this.complaint(
      code,
      { remote: socket.remoteAddress ?? 'a client that hung up', reason: err.message },
      'TLS handshake failed',
    );
  }
}

/**
 * Answers a plaintext gRPC client on a TLS port with a status it can read, instead of a reset
 * it cannot: every call it makes ends UNAVAILABLE, saying why.
 */
export function refusePlaintextGrpc(socket: net.Socket, address: string): void {
  const server = http2.createServer();
  const message = `${address} requires TLS: connect with TLS (the SDK's tls option, the CLI's --tls-ca)`;
  server.on('stream', (stream) => {
    stream.respond(
      {
        ':status': 200,
        'content-type': 'application/grpc',
        'grpc-status': '14',
        'grpc-message': encodeURIComponent(message),
        'strand-code': 'TRANSPORT_SECURITY',
      },
      { endStream: true },
    );
  });
  server.on('session', (session) => {
    session.on('error', () => undefined);
    setTimeout(() => session.close(), 2000).unref();
  });
  server.emit('connection', socket);
}
