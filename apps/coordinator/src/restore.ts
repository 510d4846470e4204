import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { checkDataFormat } from '@strand/disk';
import { KvDb, KvStateMachine, RaftLogStore } from '@strand/kv';
import {
  CorruptSnapshotError,
  InvalidConfigError,
  type SnapshotFileHeader,
  SnapshotFileReader,
} from '@strand/wire';
import { loadClusterId } from './cluster-id.js';

export interface RestoreOptions {
  /** The backup file (`strand kv snapshot save`). */
  file: string;
  /** The new node's data folder: must not exist, or be empty. */
  dataDir: string;
  /** The new node's id, one of `peers`. */
  id: number;
  /** Every voter of the new cluster: id → client address (as `--peers`). */
  peers: ReadonlyMap<number, string>;
  /** The new cluster's id (default: derived from the backup and `peers`, the same on every node). */
  clusterId?: string;
}

export interface RestoreResult {
  dataDir: string;
  clusterId: string;
  header: SnapshotFileHeader;
}

/** Reads and checks the whole file; it must be one Strand wrote, whole and undamaged. */
export async function readBackup(
  file: string,
  keepBody: boolean,
): Promise<{ header: SnapshotFileHeader; body: Buffer; fileBytes: number }> {
  const reader = new SnapshotFileReader({ keepBody });
  try {
    for await (const chunk of createReadStream(file)) reader.push(chunk as Buffer);
  } catch (err) {
    if (err instanceof CorruptSnapshotError)
      throw new CorruptSnapshotError(`${file}: ${err.message}`);
    throw new InvalidConfigError(`cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    return reader.end();
  } catch (err) {
    throw new CorruptSnapshotError(`${file}: ${(err as Error).message}`);
  }
}

/** The same on every node restored from one backup into one new cluster; not the old id. */
function restoredClusterId(header: SnapshotFileHeader, peers: ReadonlyMap<number, string>): string {
  const list = [...peers]
    .sort(([a], [b]) => a - b)
    .map(([id, address]) => `${id}=${address}`)
    .join(',');
  const h = createHash('sha256')
    .update(`strand-restore:${header.clusterId}:${header.index}:${header.createdAt}:${list}`)
    .digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

async function refuseExisting(dir: string): Promise<void> {
  const names = await fsp.readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw new InvalidConfigError(`cannot read ${dir}: ${err.message}`);
  });
  if (names.length > 0)
    throw new InvalidConfigError(
      `${dir} exists and is not empty: a restore makes a fresh data folder (give a new one, as etcdctl snapshot restore does)`,
    );
}

/**
 * `etcdctl snapshot restore` for Strand: makes a fresh coordinator data folder for a new
 * cluster from a backup. Its Raft state starts at a snapshot of the backup's index with the
 * given voters; its cluster id is a new one. Built beside the target and renamed into place,
 * so a crash never leaves a folder that looks restored but is not.
 */
export async function restoreBackup(opts: RestoreOptions): Promise<RestoreResult> {
  if (!opts.peers.has(opts.id))
    throw new InvalidConfigError(
      `--name ${opts.id} is not in --initial-cluster (${[...opts.peers.keys()].join(', ')})`,
    );
  await refuseExisting(opts.dataDir);
  const { header, body } = await readBackup(opts.file, true);
  const parent = dirname(opts.dataDir);
  await fsp.mkdir(parent, { recursive: true });
  const partial = join(parent, `.${basename(opts.dataDir)}.restoring`);
  await fsp.rm(partial, { recursive: true, force: true });
  checkDataFormat(partial, 'coordinator');
  const db = await KvDb.open(partial);
  try {
    const sm = await KvStateMachine.open(db);
    await sm.restore(body, header.index, header.term);
    const store = new RaftLogStore(db);
    await store.load();
    const voters = [...opts.peers.keys()].sort((a, b) => a - b);
    await store.save(
      {
        snapshot: {
          metadata: { index: header.index, term: header.term, confState: { voters, learners: [] } },
          data: body,
        },
        hardState: { term: header.term, vote: 0, commit: header.index },
      },
      true,
    );
  } finally {
    await db.close();
  }
  const clusterId = await loadClusterId(
    partial,
    opts.clusterId ?? restoredClusterId(header, opts.peers),
    opts.peers,
  );
  await fsp.rmdir(opts.dataDir).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
  await fsp.rename(partial, opts.dataDir);
  const dir = await fsp.open(parent, 'r');
  await dir.sync().finally(() => dir.close());
  return { dataDir: opts.dataDir, clusterId, header };
}
