import { execFileSync } from 'node:child_process';
import { closeSync, fdatasyncSync, openSync, readdirSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { type LogConfigInput, PartitionLog } from '@strand/log';
import { benchBatch, envNumber, MiB, mbps, scratchDir } from './util.js';

const IN_FLIGHT = Number(process.env.STRAND_BENCH_IN_FLIGHT ?? 16);

/** write() + one fdatasync of a large file: the disk's raw sequential bandwidth. */
function rawWriteBandwidth(dir: string, bytes: number): number {
  const chunk = Buffer.alloc(MiB, 0x5a);
  const fd = openSync(join(dir, 'raw.bin'), 'w');
  const start = performance.now();
  for (let done = 0; done < bytes; done += chunk.length) writeSync(fd, chunk);
  fdatasyncSync(fd);
  const ms = performance.now() - start;
  closeSync(fd);
  return (bytes / MiB) * (1000 / ms);
}

/** Lets earlier runs' dirty pages reach the disk so each case starts from the same state. */
function settle(): void {
  execFileSync('sync');
}

async function appendAll(
  log: PartitionLog,
  batches: Buffer[],
  totalBytes: number,
): Promise<{ ms: number; bytes: number; records: number }> {
  const perBatchRecords = batches[0]!.readInt32BE(57);
  const count = Math.max(1, Math.floor(totalBytes / batches[0]!.length));
  const inflight = new Set<Promise<unknown>>();
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    // A pool larger than the in-flight window: append patches baseOffset in place.
    const p = log.append(batches[i % batches.length]!);
    inflight.add(p);
    p.finally(() => inflight.delete(p));
    if (inflight.size >= IN_FLIGHT) await Promise.race(inflight);
  }
  await Promise.all(inflight);
  await log.flush();
  return {
    ms: performance.now() - start,
    bytes: count * batches[0]!.length,
    records: count * perBatchRecords,
  };
}

export default async function logBench(): Promise<void> {
  const totalBytes = envNumber('STRAND_BENCH_LOG_MB', 512) * MiB;
  const alwaysBytes = envNumber('STRAND_BENCH_LOG_ALWAYS_MB', 32) * MiB;
  const recoveryBytes = envNumber('STRAND_BENCH_RECOVERY_MB', 1024) * MiB;
  const scratch = scratchDir('strand-log-bench-');
  try {
    settle();
    const raw = rawWriteBandwidth(scratch.path, totalBytes);
    rmSync(join(scratch.path, 'raw.bin'));
    console.log(
      `raw sequential write (write + fdatasync, ${totalBytes / MiB} MiB): ${raw.toFixed(1)} MB/s`,
    );
    const policies: [string, LogConfigInput['durability'], number][] = [
      ['os', { mode: 'os' }, totalBytes],
      ['interval 50ms/4MiB', { mode: 'interval', intervalMs: 50, bytes: 4 * MiB }, totalBytes],
      ['always (fsync per append)', { mode: 'always' }, alwaysBytes],
    ];
    const rows: Record<string, string | number>[] = [];
    let n = 0;
    for (const recordBytes of [100, 1024]) {
      const pool = Array.from({ length: IN_FLIGHT * 2 }, () => benchBatch(recordBytes, 16 * 1024));
      for (const [name, durability, bytes] of policies) {
        const dir = join(scratch.path, `append-${n++}`);
        settle();
        const log = await PartitionLog.open(dir, { durability, segmentBytes: 256 * MiB });
        const r = await appendAll(log, pool, bytes);
        await log.close();
        rmSync(dir, { recursive: true, force: true });
        const rate = (r.bytes / MiB) * (1000 / r.ms);
        rows.push({
          record: `${recordBytes} B`,
          durability: name,
          'MB/s': rate.toFixed(1),
          'records/s': Math.round(r.records / (r.ms / 1000)),
          'vs raw': `${((rate / raw) * 100).toFixed(0)}%`,
        });
      }
    }
    console.table(rows);

    // Sequential read and recovery over one large log.
    settle();
    const dir = join(scratch.path, 'recovery');
    let log = await PartitionLog.open(dir, { durability: { mode: 'os' }, segmentBytes: 256 * MiB });
    const pool = Array.from({ length: IN_FLIGHT * 2 }, () => benchBatch(1024, 16 * 1024));
    await appendAll(log, pool, recoveryBytes);
    const end = log.logEndOffset;
    let offset = 0;
    let readBytes = 0;
    const readStart = performance.now();
    while (offset < end) {
      const { records } = await log.read(offset, 4 * MiB);
      readBytes += records.length;
      let pos = 0;
      let last = offset;
      while (pos < records.length) {
        last = Number(records.readBigInt64BE(pos)) + records.readInt32BE(pos + 23) + 1;
        pos += 12 + records.readInt32BE(pos + 8);
      }
      offset = last;
    }
    console.log(
      `sequential read (CRC checked): ${mbps(readBytes, performance.now() - readStart)} MB/s over ${(readBytes / MiB).toFixed(0)} MiB`,
    );

    // Unclean: the process dies with the active segment's tail past its last checkpoint.
    await log.abandon();
    let t = performance.now();
    log = await PartitionLog.open(dir, { segmentBytes: 256 * MiB });
    console.log(
      `recovery after an unclean stop (${recoveryBytes / MiB} MiB; the active segment is verified from its last checkpoint): ${(performance.now() - t).toFixed(1)} ms`,
    );
    await log.close();
    t = performance.now();
    log = await PartitionLog.open(dir, { segmentBytes: 256 * MiB });
    console.log(
      `recovery after a clean stop (${recoveryBytes / MiB} MiB): ${(performance.now() - t).toFixed(1)} ms`,
    );
    await log.abandon();
    rmSync(join(dir, 'checkpoint'));
    for (const f of ['.index', '.timeindex']) {
      for (const name of readdirSync(dir).filter((x) => x.endsWith(f))) rmSync(join(dir, name));
    }
    t = performance.now();
    log = await PartitionLog.open(dir, { segmentBytes: 256 * MiB });
    console.log(
      `recovery with no checkpoint and no indexes (${recoveryBytes / MiB} MiB, every CRC verified): ${(performance.now() - t).toFixed(1)} ms`,
    );
    await log.close();
  } finally {
    scratch.cleanup();
  }
}
