import { readFileSync } from 'node:fs';
import { Admin, KvClient, type SaslOptions } from '@strand/client';
import type { Context } from '../cli/spec.js';
import { UsageError } from '../cli/usage.js';

/** The SDK's tls and sasl options, from the connection flags (else their variables). */
export interface ConnectionSecurity {
  tls?: { ca: Buffer; cert?: Buffer; key?: Buffer };
  sasl?: SaslOptions;
}

function pem(ctx: Context, path: string, flagName: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new UsageError(`--${flagName}: cannot read ${path}: ${(err as Error).message}`, ctx.path);
  }
}

export function connectionSecurity(ctx: Context): ConnectionSecurity {
  const f = ctx.flags as Record<string, unknown>;
  const given = (name: string, env: string) =>
    (f[name] as string | undefined) ?? (ctx.env[env] || undefined);
  const ca = given('tls-ca', 'STRAND_TLS_CA');
  const cert = given('tls-cert', 'STRAND_TLS_CERT');
  const key = given('tls-key', 'STRAND_TLS_KEY');
  const user = given('user', 'STRAND_USER');
  if (!ca) {
    if (cert || key || user)
      throw new UsageError(
        '--tls-ca is needed with --tls-cert, --tls-key or --user (users authenticate over TLS only)',
        ctx.path,
      );
    return {};
  }
  if (!cert !== !key)
    throw new UsageError('give both --tls-cert and --tls-key (or neither)', ctx.path);
  const tls = {
    ca: pem(ctx, ca, 'tls-ca'),
    ...(cert && key ? { cert: pem(ctx, cert, 'tls-cert'), key: pem(ctx, key, 'tls-key') } : {}),
  };
  if (!user) return { tls };
  const password = given('password', 'STRAND_PASSWORD');
  if (!password)
    throw new UsageError(
      `--user ${user} needs a password: $STRAND_PASSWORD, --password-stdin or --password`,
      ctx.path,
    );
  const mechanism = (f['sasl-mechanism'] as SaslOptions['mechanism']) ?? 'SCRAM-SHA-512';
  return { tls, sasl: { mechanism, username: user, password } };
}

/** What every SDK client (Admin, Producer, Consumer) gets from the command line. */
export function clientOptions(ctx: Context): {
  bootstrap: string[];
  clientId: string;
  requestTimeoutMs: number;
} & ConnectionSecurity {
  return {
    bootstrap: ctx.bootstrap,
    clientId: 'strand-cli',
    requestTimeoutMs: ctx.timeoutMs,
    ...connectionSecurity(ctx),
  };
}

/** 1536 → "1.5 KiB". */
export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(v >= 100 ? 0 : 1)} ${units[i]}`;
}

/** Runs `f` with an Admin client of the cluster, closed afterwards; exit status 0. */
export async function withAdmin(ctx: Context, f: (admin: Admin) => Promise<void>): Promise<number> {
  const admin = new Admin(clientOptions(ctx));
  try {
    await f(admin);
    return 0;
  } finally {
    await admin.close();
  }
}

/**
 * A KV client for one command: it gives up after --timeout-ms in all, retries included (as
 * etcdctl's --command-timeout), not after the SDK's longer default.
 */
export function kvClient(ctx: Context): KvClient {
  return new KvClient({
    bootstrap: ctx.bootstrap,
    timeoutMs: ctx.timeoutMs,
    retryForMs: ctx.timeoutMs,
    ...connectionSecurity(ctx),
  });
}
