import { isIP } from 'node:net';
import tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import type { TlsFiles, TlsMaterial } from './tls.js';

/**
 * Which listener a server or channel belongs to: `client` (what clients, tools and brokers
 * call: the KV API, groups, the controller, brokers' topic API) or `peer` (Raft between
 * coordinators, reachable only by the other coordinators).
 */
export type ListenerKind = 'client' | 'peer';

/**
 * gRPC servers never do TLS themselves: every listener terminates it first (tls-accept.ts),
 * so the broker's port can tell gRPC from Kafka and both see the client's certificate.
 */
export function serverCredentials(_kind: ListenerKind): grpc.ServerCredentials {
  return grpc.ServerCredentials.createInsecure();
}

type Pem = string | Buffer;

/** TLS for a client: the CA that signed the servers' certificates, and a certificate of its own (mutual TLS). */
export interface TlsOptions {
  ca: Pem;
  cert?: Pem;
  key?: Pem;
}

const toBuffer = (p: Pem) => (typeof p === 'string' ? Buffer.from(p) : p);

/**
 * grpc-js's certificate provider fed from PEMs given once, or from a node's TlsFiles (whose
 * reloads reach every channel's next connection).
 */
class MaterialProvider implements grpc.experimental.CertificateProvider {
  private ca: grpc.experimental.CaCertificateUpdate;
  private identity: grpc.experimental.IdentityCertificateUpdate | null;
  private readonly caListeners = new Set<grpc.experimental.CaCertificateUpdateListener>();
  private readonly idListeners = new Set<grpc.experimental.IdentityCertificateUpdateListener>();

  constructor(source: TlsOptions | TlsFiles) {
    const m = 'material' in source ? source.material : undefined;
    const o = m ?? (source as TlsOptions);
    this.ca = { caCertificate: toBuffer(o.ca) };
    this.identity =
      o.cert && o.key ? { certificate: toBuffer(o.cert), privateKey: toBuffer(o.key) } : null;
    if ('onChange' in source)
      source.onChange((next: TlsMaterial) => {
        this.ca = { caCertificate: next.ca };
        this.identity = { certificate: next.cert, privateKey: next.key };
        for (const l of this.caListeners) l(this.ca);
        for (const l of this.idListeners) l(this.identity);
      });
  }

  get hasIdentity(): boolean {
    return this.identity !== null;
  }

  addCaCertificateListener(l: grpc.experimental.CaCertificateUpdateListener): void {
    this.caListeners.add(l);
    l(this.ca);
  }
  removeCaCertificateListener(l: grpc.experimental.CaCertificateUpdateListener): void {
    this.caListeners.delete(l);
  }
  addIdentityCertificateListener(l: grpc.experimental.IdentityCertificateUpdateListener): void {
    this.idListeners.add(l);
    l(this.identity);
  }
  removeIdentityCertificateListener(l: grpc.experimental.IdentityCertificateUpdateListener): void {
    this.idListeners.delete(l);
  }
}

/**
 * TLS servers are dialled by IP as often as by name, but a TLS server name (SNI) may not be an
 * IP address (Node warns about it on every process). An IP target travels as a made-up name
 * that the certificate check turns back into the address it stands for.
 */
const IP_NAME = /^ip-([0-9a-f]+)\.strand\.invalid$/;
const nameForIp = (ip: string) => `ip-${Buffer.from(ip).toString('hex')}.strand.invalid`;

function checkServerIdentity(name: string, cert: tls.PeerCertificate): Error | undefined {
  const m = IP_NAME.exec(name);
  return tls.checkServerIdentity(m ? Buffer.from(m[1]!, 'hex').toString() : name, cert);
}

const hostOf = (address: string) =>
  address.slice(0, address.lastIndexOf(':')).replace(/^\[(.*)\]$/, '$1');

/** How a client dials over TLS: the credentials (shared by all its channels) and per-address options. */
export class ClientTls {
  private readonly creds: grpc.ChannelCredentials;
  /** Whether this client presents a certificate (mutual TLS). */
  readonly mutual: boolean;

  constructor(source: TlsOptions | TlsFiles) {
    const provider = new MaterialProvider(source);
    this.mutual = provider.hasIdentity;
    this.creds = grpc.experimental.createCertificateProviderChannelCredentials(
      provider,
      provider.hasIdentity ? provider : null,
      { checkServerIdentity },
    );
  }

  credentials(callCredentials?: grpc.CallCredentials): grpc.ChannelCredentials {
    return callCredentials ? this.creds.compose(callCredentials) : this.creds;
  }

  channelOptions(address: string): grpc.ChannelOptions {
    const host = hostOf(address);
    return isIP(host) ? { 'grpc.ssl_target_name_override': nameForIp(host) } : {};
  }
}

/** How every Strand channel is made: plaintext, or TLS (with the caller's token on each call). */
export interface ChannelSecurity {
  tls?: ClientTls | undefined;
  callCredentials?: grpc.CallCredentials | undefined;
}

export function channelCredentials(security: ChannelSecurity = {}): grpc.ChannelCredentials {
  return security.tls
    ? security.tls.credentials(security.callCredentials)
    : grpc.credentials.createInsecure();
}

export function channelOptions(security: ChannelSecurity, address: string): grpc.ChannelOptions {
  return security.tls ? security.tls.channelOptions(address) : {};
}
