import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generate } from 'selfsigned';

/** A certificate and its key, PEM. */
export interface CertPair {
  cert: string;
  key: string;
}

export interface Pki {
  ca: CertPair;
  /** By common name: node certificates (serve and dial) and client certificates alike. */
  certs: Record<string, CertPair>;
}

const YEAR_MS = 365 * 24 * 3600 * 1000;

/**
 * A CA and certificates it signs, for development clusters and tests: EC P-256, SHA-256,
 * each leaf good for both serving and dialling (a node does both) on localhost and 127.0.0.1.
 * Made with `selfsigned` (pure JavaScript: no openssl binary needed).
 */
export async function makePki(
  commonNames: readonly string[],
  opts: { caName?: string; hosts?: readonly string[]; ca?: CertPair } = {},
): Promise<Pki> {
  const ca: CertPair = opts.ca ?? (await makeCa(opts.caName));
  const hosts = opts.hosts ?? ['localhost', '127.0.0.1', '::1'];
  const altNames = hosts.map((h) =>
    /^[\d.]+$|:/.test(h) ? { type: 7 as const, ip: h } : { type: 2 as const, value: h },
  );
  const certs: Record<string, CertPair> = {};
  for (const cn of commonNames) {
    const r = await generate([{ name: 'commonName', value: cn }], {
      keyType: 'ec',
      algorithm: 'sha256',
      notAfterDate: new Date(Date.now() + 2 * YEAR_MS),
      ca: { key: ca.key, cert: ca.cert },
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
        { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
        { name: 'subjectAltName', altNames },
      ],
    });
    certs[cn] = { cert: r.cert, key: r.private };
  }
  return { ca, certs };
}

async function makeCa(name = 'Strand development CA'): Promise<CertPair> {
  const r = await generate([{ name: 'commonName', value: name }], {
    keyType: 'ec',
    algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + 10 * YEAR_MS),
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      {
        name: 'keyUsage',
        keyCertSign: true,
        cRLSign: true,
        digitalSignature: true,
        critical: true,
      },
    ],
  });
  return { cert: r.cert, key: r.private };
}

/** Where writePki put each file. */
export interface PkiFiles {
  ca: string;
  caKey: string;
  cert: (cn: string) => string;
  key: (cn: string) => string;
}

/** Writes `pki` into `dir`: ca.pem, ca.key, and <cn>.pem / <cn>.key for each certificate. */
export function writePki(dir: string, pki: Pki): PkiFiles {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const write = (name: string, text: string, mode: number) =>
    writeFileSync(join(dir, name), text, { mode });
  write('ca.pem', pki.ca.cert, 0o644);
  write('ca.key', pki.ca.key, 0o600);
  for (const [cn, pair] of Object.entries(pki.certs)) {
    write(`${cn}.pem`, pair.cert, 0o644);
    write(`${cn}.key`, pair.key, 0o600);
  }
  return {
    ca: join(dir, 'ca.pem'),
    caKey: join(dir, 'ca.key'),
    cert: (cn) => join(dir, `${cn}.pem`),
    key: (cn) => join(dir, `${cn}.key`),
  };
}
