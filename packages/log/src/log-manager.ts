import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { DiskGuard } from '@strand/disk';
import { InvalidRequestError } from '@strand/wire';
import { BackgroundWork } from './background.js';
import { forEachLimit } from './concurrency.js';
import type { LogConfigInput } from './config.js';
import { FdCache } from './fd-cache.js';
import { PartitionLog } from './partition-log.js';

export interface LogManagerOptions {
  /** Upper bound on open data-file descriptors across every partition. */
  maxOpenFiles?: number;
  now?: () => number;
  checkpointIntervalMs?: number;
  /** Told how long each flush (fsync) of any partition took, in seconds. */
  onFlush?: (seconds: number) => void;
  /** The disk's guard (see PartitionLog's OpenOptions). */
  space?: DiskGuard;
}

/** Logs closed at once at shutdown (each syncs and writes a few small files). */
const CLOSE_CONCURRENCY = 16;

export interface PartitionId {
  topic: string;
  partition: number;
}

const TOPIC = /^[A-Za-z0-9._-]{1,249}$/;

/** `<topic>-<partition>`, the directory name of a partition (Kafka's layout). */
export function partitionDirName({ topic, partition }: PartitionId): string {
  if (!TOPIC.test(topic) || topic === '.' || topic === '..') {
    throw new InvalidRequestError(`invalid topic name ${JSON.stringify(topic)}`);
  }
  if (!Number.isInteger(partition) || partition < 0) {
    throw new InvalidRequestError(`invalid partition ${partition}`);
  }
  return `${topic}-${partition}`;
}

/**
 * Every partition log under one data directory, sharing one fd cache so the number of open
 * data files stays bounded however many partitions and segments exist, and one scheduler of
 * background syncs and checkpoints so an idle partition costs no timer and no descriptor.
 */
export class LogManager {
  private readonly logs = new Map<string, Promise<PartitionLog>>();
  readonly fds: FdCache;
  readonly background = new BackgroundWork();

  private constructor(
    readonly dataDir: string,
    private readonly opts: LogManagerOptions,
  ) {
    this.fds = new FdCache(opts.maxOpenFiles ?? 1024);
  }

  static async open(dataDir: string, opts: LogManagerOptions = {}): Promise<LogManager> {
    await fsp.mkdir(dataDir, { recursive: true });
    return new LogManager(dataDir, opts);
  }

  /** Partition directories present on disk (whether opened yet or not). */
  async listOnDisk(): Promise<PartitionId[]> {
    const names = await fsp.readdir(this.dataDir);
    const out: PartitionId[] = [];
    for (const n of names) {
      const m = /^(.+)-(\d+)$/.exec(n);
      if (m) out.push({ topic: m[1]!, partition: Number(m[2]) });
    }
    return out;
  }

  /** Opens (creating if needed) a partition log; concurrent calls share one open. */
  getOrCreate(id: PartitionId, config: LogConfigInput = {}): Promise<PartitionLog> {
    const name = partitionDirName(id);
    let log = this.logs.get(name);
    if (!log) {
      log = PartitionLog.open(join(this.dataDir, name), config, {
        fds: this.fds,
        background: this.background,
        space: this.opts.space,
        now: this.opts.now,
        checkpointIntervalMs: this.opts.checkpointIntervalMs,
        onFlush: this.opts.onFlush,
      });
      this.logs.set(name, log);
      log.catch(() => this.logs.delete(name));
    }
    return log;
  }

  get(id: PartitionId): Promise<PartitionLog> | undefined {
    return this.logs.get(partitionDirName(id));
  }

  async delete(id: PartitionId): Promise<void> {
    const name = partitionDirName(id);
    const log = this.logs.get(name);
    this.logs.delete(name);
    if (log) await (await log).destroy();
    else await fsp.rm(join(this.dataDir, name), { recursive: true, force: true });
  }

  /** Closes every log (cleanly: synced, checkpointed, marked), several at a time. */
  async close(): Promise<void> {
    const logs = [...this.logs.values()];
    this.logs.clear();
    this.background.close();
    try {
      await forEachLimit(logs, CLOSE_CONCURRENCY, async (log) => (await log).close());
    } finally {
      await this.fds.closeAll();
    }
  }
}
