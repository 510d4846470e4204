import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BATCH_HEADER_SIZE, writeBatchHeader } from '@strand/wire';

export function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0)
    throw new Error(`${name} must be a positive number, got ${raw}`);
  return n;
}

export function scratchDir(prefix: string): { path: string; cleanup: () => void } {
  const base = process.env.STRAND_BENCH_DIR ?? tmpdir();
  const path = mkdtempSync(join(base, prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

export const MiB = 1024 * 1024;

export function mbps(bytes: number, ms: number): string {
  return ((bytes / MiB) * (1000 / ms)).toFixed(1);
}

/**
 * A RecordBatch of about `batchBytes` holding records of `recordBytes` values, framed with
 * opaque-but-valid record encodings (a varint record prefix + value), as a producer sends.
 */
export function benchBatch(recordBytes: number, batchBytes: number): Buffer {
  const perRecord = recordBytes + 8;
  const count = Math.max(1, Math.floor((batchBytes - BATCH_HEADER_SIZE) / perRecord));
  const records = Buffer.alloc(count * perRecord, 0x61);
  const buf = Buffer.alloc(BATCH_HEADER_SIZE + records.length);
  records.copy(buf, BATCH_HEADER_SIZE);
  const now = Date.now();
  writeBatchHeader(
    buf,
    0,
    {
      baseOffset: 0,
      partitionLeaderEpoch: 0,
      attributes: 0,
      lastOffsetDelta: count - 1,
      baseTimestamp: now,
      maxTimestamp: now,
      producerId: -1,
      producerEpoch: -1,
      baseSequence: -1,
      recordCount: count,
    },
    records.length,
  );
  return buf;
}

/** A value of `bytes` printable bytes, not constant (nothing downstream can shortcut on a run of one byte). */
export function benchValue(bytes: number): Buffer {
  const b = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) b[i] = 0x61 + ((i * 7) % 26);
  return b;
}

/** An error's first line, cut to `maxChars`, for tables and notes. */
export function errorText(err: unknown, maxChars = 200): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return (text.split('\n')[0] ?? '').slice(0, maxChars);
}

/** The built entry point of a workspace package, or undefined when it is not built. */
export function resolveMain(pkg: string): string | undefined {
  try {
    const path = fileURLToPath(import.meta.resolve(pkg));
    return existsSync(path) ? path : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A plain-text table: the first `leftColumns` columns and those from `textFrom` on are
 * left-aligned (names, notes), the rest right-aligned (figures).
 */
export function table(
  headers: string[],
  rows: string[][],
  leftColumns = 1,
  textFrom = headers.length,
): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const left = (i: number) => i < leftColumns || i >= textFrom;
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (left(i) ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** `a / b` as "1.23x", or "-" when either is missing. */
export function ratio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || b === 0) return '-';
  return `${(a / b).toFixed(2)}x`;
}

/** The CPU time (user + system) process `pid` has used so far, in ms, from /proc. */
export function cpuMsOf(pid: number): number {
  return statCpuMs(readFileSync(`/proc/${pid}/stat`, 'utf8'));
}

/** utime + stime of a /proc stat line, in ms (the name in parentheses may hold ') '). */
function statCpuMs(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
  // utime and stime are fields 14 and 15 of stat; [0] here is field 3.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

/**
 * The CPU time (user + system, ms) process `pid`'s threads have used so far, summed by what
 * they are: `js` the main thread (JavaScript and the GC work V8 does on it), `rocksdb` RocksDB's
 * own background threads (flushes, compactions), `helpers` the rest of Node's threads (V8's
 * concurrent GC and compiler helpers, and libuv's pool, where RocksDB reads and batch writes
 * run), `other` threads of native modules.
 */
export function threadCpuMsOf(pid: number): Record<'js' | 'rocksdb' | 'helpers' | 'other', number> {
  const out = { js: 0, rocksdb: 0, helpers: 0, other: 0 };
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // The thread ended between the listing and the read.
    }
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const group =
      tid === String(pid)
        ? 'js'
        : name.startsWith('rocksdb')
          ? 'rocksdb'
          : name === 'node' || name.startsWith('V8') || name.startsWith('libuv')
            ? 'helpers'
            : 'other';
    out[group] += statCpuMs(stat);
  }
  return out;
}

/** The CPU time (user + system) this process has used so far, in ms. */
export function ownCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}
