import { Admin } from '@strand/client';
import type { Context } from '../cli/spec.js';

/** What every SDK client (Admin, Producer, Consumer) gets from the command line. */
export function clientOptions(ctx: Context): {
  bootstrap: string[];
  clientId: string;
  requestTimeoutMs: number;
} {
  return { bootstrap: ctx.bootstrap, clientId: 'strand-cli', requestTimeoutMs: ctx.timeoutMs };
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
