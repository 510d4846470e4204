import { X509Certificate } from 'node:crypto';
import { readFileSync, unwatchFile, watchFile } from 'node:fs';
import tls from 'node:tls';
import { z } from 'zod';
import { InvalidConfigError } from '../errors/errors.js';
import type { LogSink } from './throttled-log.js';

/** Kafka's ssl.client.auth: whether the client listener asks clients for a certificate. */
export const TLS_CLIENT_AUTH = ['none', 'requested', 'required'] as const;
export type TlsClientAuth = (typeof TLS_CLIENT_AUTH)[number];

/** The TLS settings both apps take (flags, environment, config file). */
export const TlsConfigShape = {
  /** This node's certificate (PEM), signed by the cluster's CA; it serves and dials with it. */
  tlsCert: z.string().min(1).optional(),
  tlsKey: z.string().min(1).optional(),
  /** The cluster's CA (PEM): every node's and client certificate must be signed by it. */
  tlsCa: z.string().min(1).optional(),
  /** Clients on the client listener: no certificate asked, asked (default), or required. */
  tlsClientAuth: z.enum(TLS_CLIENT_AUTH).default('requested'),
};

export const TLS_FLAGS = [
  { key: 'tlsCert', flag: 'tls-cert', env: 'STRAND_TLS_CERT' },
  { key: 'tlsKey', flag: 'tls-key', env: 'STRAND_TLS_KEY' },
  { key: 'tlsCa', flag: 'tls-ca', env: 'STRAND_TLS_CA' },
  { key: 'tlsClientAuth', flag: 'tls-client-auth', env: 'STRAND_TLS_CLIENT_AUTH' },
] as const;

export interface TlsPaths {
  tlsCert?: string | undefined;
  tlsKey?: string | undefined;
  tlsCa?: string | undefined;
}

/** Problems with the TLS settings as a whole (all three files, or none). */
export function tlsPathsProblem(c: TlsPaths): string | undefined {
  const given = [c.tlsCert, c.tlsKey, c.tlsCa].filter(Boolean).length;
  if (given === 0 || given === 3) return undefined;
  return 'TLS needs all three of --tls-cert, --tls-key and --tls-ca (or none of them)';
}

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  ca: Buffer;
}

/** A certificate's subject common name. */
export function commonName(cert: Buffer | string): string {
  const subject = new X509Certificate(cert).subject;
  return /(?:^|\n)CN=([^\n]*)/.exec(subject)?.[1] ?? '';
}

/**
 * Checks that `m` is usable: the key is the certificate's, the certificate is signed by the CA
 * and valid now. Returns the certificate's common name; throws InvalidConfigError.
 */
export function checkMaterial(m: TlsMaterial, what: string): string {
  let cert: X509Certificate;
  let ca: X509Certificate;
  try {
    cert = new X509Certificate(m.cert);
    ca = new X509Certificate(m.ca);
    tls.createSecureContext({ cert: m.cert, key: m.key, ca: m.ca });
  } catch (err) {
    throw new InvalidConfigError(`${what}: ${(err as Error).message}`);
  }
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey))
    throw new InvalidConfigError(`${what}: the certificate is not signed by the CA given`);
  const now = Date.now();
  if (Date.parse(cert.validTo) < now || Date.parse(cert.validFrom) > now)
    throw new InvalidConfigError(
      `${what}: the certificate is valid only from ${cert.validFrom} to ${cert.validTo}`,
    );
  return commonName(m.cert);
}

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new InvalidConfigError(`cannot read the ${what} ${path}: ${(err as Error).message}`);
  }
}

const RELOAD_POLL_MS = 1000;

/**
 * A node's certificate, key and CA, from PEM files: read at start (a problem there is a clear
 * config error), read again on SIGHUP and whenever a file changes. A new set that does not
 * check out is logged and the old one kept; listeners hear of every good new set, so new
 * connections use it while open ones go on.
 */
export class TlsFiles {
  private current: TlsMaterial;
  private cn: string;
  private readonly listeners: Array<(m: TlsMaterial) => void> = [];
  private watching = false;
  private readonly onSignal = () => this.reload('SIGHUP');
  private readonly onFile = () => this.reload('a changed file');

  private constructor(
    private readonly paths: Required<{ [K in keyof TlsPaths]: string }>,
    private readonly log: LogSink,
  ) {
    this.current = this.read();
    this.cn = checkMaterial(this.current, 'TLS');
  }

  /** The files of `paths`, or undefined when TLS is not configured. */
  static open(paths: TlsPaths, log: LogSink): TlsFiles | undefined {
    const problem = tlsPathsProblem(paths);
    if (problem) throw new InvalidConfigError(problem);
    if (!paths.tlsCert || !paths.tlsKey || !paths.tlsCa) return undefined;
    return new TlsFiles({ tlsCert: paths.tlsCert, tlsKey: paths.tlsKey, tlsCa: paths.tlsCa }, log);
  }

  get material(): TlsMaterial {
    return this.current;
  }

  /** `User:<CN>`: who this node is to the others (and to ACLs). */
  get principal(): string {
    return `User:${this.cn}`;
  }

  onChange(listener: (m: TlsMaterial) => void): void {
    this.listeners.push(listener);
  }

  /** Starts following the files (and SIGHUP). */
  watch(): void {
    if (this.watching) return;
    this.watching = true;
    process.on('SIGHUP', this.onSignal);
    for (const p of Object.values(this.paths))
      watchFile(p, { interval: RELOAD_POLL_MS, persistent: false }, this.onFile);
  }

  close(): void {
    if (!this.watching) return;
    this.watching = false;
    process.off('SIGHUP', this.onSignal);
    for (const p of Object.values(this.paths)) unwatchFile(p, this.onFile);
  }

  /** Reads the files again; false (and the old set kept) when the new one is not usable. */
  reload(why: string): boolean {
    try {
      const next = this.read();
      const cn = checkMaterial(next, 'TLS');
      if (
        next.cert.equals(this.current.cert) &&
        next.key.equals(this.current.key) &&
        next.ca.equals(this.current.ca)
      )
        return true;
      this.current = next;
      this.cn = cn;
      this.log(
        { why, cn, validTo: new X509Certificate(next.cert).validTo },
        'TLS certificate reloaded',
      );
      for (const l of this.listeners) l(next);
      return true;
    } catch (err) {
      this.log(
        { why, reason: (err as Error).message },
        'TLS files not reloaded: the previous ones stay',
      );
      return false;
    }
  }

  private read(): TlsMaterial {
    return {
      cert: readPem(this.paths.tlsCert, 'certificate'),
      key: readPem(this.paths.tlsKey, 'private key'),
      ca: readPem(this.paths.tlsCa, 'CA certificate'),
    };
  }
}
