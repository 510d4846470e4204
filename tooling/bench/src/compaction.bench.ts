import { join } from 'node:path';
import { IoThrottle, PartitionLog } from '@strand/log';
import { encodeBatch } from '@strand/wire';
import { benchValue, envNumber, MiB, mbps, scratchDir } from './util.js';

/**
 * The log cleaner: its throughput over a dirty compacted log (1 KiB records, 10% of them
 * unique keys), and the append latency of another log of the same process (the broker's event
 * loop and disk) with no cleaner, with the cleaner unbounded, and with its I/O bound — in the
 * same run. There is no peer to compare with here: Kafka's cleaner runs on the JVM.
 */
const RECORD = 1024;
const PER_BATCH = 16;

function keyedBatches(count: number, uniqueKeys: number, value: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let b = 0; b < count; b++)
    out.push(
      encodeBatch(
        Array.from({ length: PER_BATCH }, (_, i) => ({
          key: `key-${(b * PER_BATCH + i) % uniqueKeys}`,
          value,
        })),
      ),
    );
  return out;
}

async function fill(log: PartitionLog, batches: Buffer[]): Promise<number> {
  let bytes = 0;
  for (const b of batches) {
    await log.append(Buffer.from(b));
    bytes += b.length;
  }
  await log.flush();
  return bytes;
}

/** Runs passes until the log is clean; returns dirty bytes cleaned and the time it took. */
async function cleanAll(log: PartitionLog, throttle?: IoThrottle) {
  const t0 = performance.now();
  let cleaned = 0;
  let passes = 0;
  for (;;) {
    const r = await log.clean({ bound: Infinity, dedupeBufferBytes: 128 * MiB, throttle });
    cleaned += r.cleanedBytes;
    passes++;
    if (!r.due || !r.more) break;
  }
  return { cleaned, ms: performance.now() - t0, passes };
}

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

/** Appends one batch every `everyMs` until `stop()` says so; per-append latency in ms. */
async function paced(log: PartitionLog, batch: Buffer, everyMs: number, stop: () => boolean) {
  const lat: number[] = [];
  let next = performance.now();
  while (!stop()) {
    const t0 = performance.now();
    await log.append(Buffer.from(batch));
    lat.push(performance.now() - t0);
    next += everyMs;
    const wait = next - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  return lat;
}

export default async function compactionBench(): Promise<void> {
  const dirtyMb = envNumber('STRAND_BENCH_COMPACT_MB', 256);
  const ioBound = envNumber('STRAND_BENCH_COMPACT_IO_MBPS', 20) * MiB;
  const value = benchValue(RECORD);
  const perBatch = encodeBatch(
    Array.from({ length: PER_BATCH }, () => ({ key: 'k', value })),
  ).length;
  const count = Math.ceil((dirtyMb * MiB) / perBatch);
  const uniqueKeys = Math.ceil((count * PER_BATCH) / 10);
  const scratch = scratchDir('strand-compact-bench-');
  try {
    const config = {
      compact: true,
      segmentBytes: Math.max(MiB, Math.floor((dirtyMb * MiB) / 16)),
      minCleanableDirtyRatio: 0,
      durability: { mode: 'interval' as const, intervalMs: 50, bytes: 4 * MiB },
    };
    const source = keyedBatches(count, uniqueKeys, value);
    const produceBatch = encodeBatch(
      Array.from({ length: PER_BATCH }, (_, i) => ({ key: `p-${i}`, value })),
    );
    const rows: Record<string, string | number>[] = [];
    const runCase = async (name: string, cleaner: 'none' | 'unbounded' | 'bounded') => {
      const dirty = await PartitionLog.open(join(scratch.path, `${name}-dirty`), config);
      const bytes = await fill(dirty, source);
      const hot = await PartitionLog.open(join(scratch.path, `${name}-hot`), {
        ...config,
        compact: false,
      });
      let done = cleaner === 'none';
      const cleaning =
        cleaner === 'none'
          ? undefined
          : cleanAll(dirty, cleaner === 'bounded' ? new IoThrottle(ioBound) : undefined).finally(
              () => {
                done = true;
              },
            );
      const t0 = performance.now();
      // With no cleaner, as long as an unbounded clean took (at least 5 s).
      const lat = await paced(hot, produceBatch, 5, () =>
        cleaner === 'none' ? performance.now() - t0 > 5000 : done,
      );
      const c = await cleaning;
      rows.push({
        case: name,
        'dirty MiB': (bytes / MiB).toFixed(0),
        'cleaner MB/s': c ? mbps(c.cleaned, c.ms) : '-',
        'clean s': c ? (c.ms / 1000).toFixed(1) : '-',
        'size after MiB': (dirty.sizeBytes / MiB).toFixed(1),
        appends: lat.length,
        'append p50 ms': percentile(lat, 50).toFixed(2),
        'append p99 ms': percentile(lat, 99).toFixed(2),
      });
      await dirty.close();
      await hot.close();
    };
    await runCase('no cleaner', 'none');
    await runCase('cleaner unbounded', 'unbounded');
    await runCase(`cleaner io ${ioBound / MiB} MiB/s`, 'bounded');
    console.log(
      `compaction: ${PER_BATCH} × ${RECORD} B records per batch, ${uniqueKeys} unique keys (10%), appends of one batch every 5 ms to another log meanwhile`,
    );
    console.table(rows);
  } finally {
    scratch.cleanup();
  }
}
