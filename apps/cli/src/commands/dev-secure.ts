import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Admin, UserExistsError } from '@strand/client';
import { makePki, type PkiFiles, writePki } from '@strand/security';

/** What `strand dev --secure` keeps in its data folder. */
export interface DevSecurity {
  files: PkiFiles;
  passwordFile: string;
  /** The bearer token the nodes' `/metrics` ask for (Prometheus's credentials_file). */
  metricsTokenFile: string;
  /** The flags both nodes get. */
  nodeFlags: string[];
  /**
   * The console's: the CA (no certificate of its own, so each user logs in and acts with
   * their ACLs), the metrics token for its chart, and HTTPS with the node's certificate.
   */
  consoleFlags: string[];
}

const NODE = 'node-1';
export const DEV_ADMIN = 'admin';

/** A secret made at the first start and kept after: only this user may read it. */
function secretFile(path: string): string {
  if (!existsSync(path))
    writeFileSync(path, `${randomBytes(18).toString('base64url')}\n`, { mode: 0o600 });
  return path;
}

/**
 * A CA, the nodes' certificate and an admin's client certificate in `<data>/pki` (made at the
 * first start, kept after), the admin user's password in `<data>/admin.password` and the
 * metrics token in `<data>/metrics.token`. The nodes run with TLS, authentication required
 * and ACLs (the node and the admin are super users); their `/metrics` answer that token.
 */
export async function devSecurity(dataDir: string): Promise<DevSecurity> {
  const dir = join(dataDir, 'pki');
  const files: PkiFiles = existsSync(join(dir, 'ca.pem'))
    ? {
        ca: join(dir, 'ca.pem'),
        caKey: join(dir, 'ca.key'),
        cert: (cn) => join(dir, `${cn}.pem`),
        key: (cn) => join(dir, `${cn}.key`),
      }
    : writePki(dir, await makePki([NODE, DEV_ADMIN]));
  const passwordFile = secretFile(join(dataDir, 'admin.password'));
  const metricsTokenFile = secretFile(join(dataDir, 'metrics.token'));
  return {
    files,
    passwordFile,
    metricsTokenFile,
    nodeFlags: [
      ...['--tls-cert', files.cert(NODE), '--tls-key', files.key(NODE), '--tls-ca', files.ca],
      ...['--authentication', 'required', '--super-users', `User:${NODE},User:${DEV_ADMIN}`],
      ...['--metrics-token-file', metricsTokenFile],
    ],
    consoleFlags: [
      ...['--tls-ca', files.ca, '--metrics-token-file', metricsTokenFile],
      ...['--https-cert', files.cert(NODE), '--https-key', files.key(NODE)],
    ],
  };
}

/** Makes the admin user (SCRAM-SHA-512 and -256) with the admin's certificate, once. */
export async function createDevAdmin(s: DevSecurity, brokerAddress: string): Promise<void> {
  const admin = new Admin({
    bootstrap: [brokerAddress],
    tls: {
      ca: readFileSync(s.files.ca),
      cert: readFileSync(s.files.cert(DEV_ADMIN)),
      key: readFileSync(s.files.key(DEV_ADMIN)),
    },
  });
  const password = readFileSync(s.passwordFile, 'utf8').trim();
  try {
    await admin.createUser(DEV_ADMIN, password);
    await admin.changePassword(DEV_ADMIN, password, { mechanism: 'SCRAM-SHA-256' });
  } catch (e) {
    if (!(e instanceof UserExistsError)) throw e;
  } finally {
    await admin.close();
  }
}

/**
 * How to reach the secure cluster, for the banner: the CLI's flags, the SDK's options, and
 * how to scrape a node's HTTPS `/metrics` with the token.
 */
export function devSecurityHints(
  s: DevSecurity,
  brokerAddress: string,
  brokerAdminUrl: string,
): string[] {
  return [
    '  secure: TLS with its own CA, users (SCRAM) and ACLs; the admin user may do anything.',
    '  CLI, as the admin user:',
    `    export STRAND_TLS_CA=${s.files.ca} STRAND_USER=${DEV_ADMIN} STRAND_PASSWORD=$(cat ${s.passwordFile})`,
    `    (or its certificate: --tls-ca ${s.files.ca} --tls-cert ${s.files.cert(DEV_ADMIN)} --tls-key ${s.files.key(DEV_ADMIN)})`,
    "    echo 'alice-password' | pnpm strand user create alice",
    '    pnpm strand acl add --allow-principal User:alice --operation all --topic demo',
    '  SDK:',
    `    new Producer({ bootstrap: ['${brokerAddress}'], tls: { ca: readFileSync('${s.files.ca}') },`,
    "      sasl: { username: 'alice', password: process.env.ALICE_PASSWORD } })",
    `  console: log in as a user (the admin: ${DEV_ADMIN} and the password above); it is HTTPS with`,
    `    a certificate of the dev CA: trust ${s.files.ca} in the browser, or accept its warning`,
    '  metrics (HTTPS with the CA, and the token in a bearer header; Prometheus: credentials_file):',
    `    curl --cacert ${s.files.ca} -H "Authorization: Bearer $(cat ${s.metricsTokenFile})" ${brokerAdminUrl}/metrics`,
  ];
}
