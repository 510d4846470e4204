import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { dirname } from 'node:path';
import { readBackup, restoreBackup } from '@strand/coordinator';
import { HostPortSchema, type SnapshotFileHeader } from '@strand/wire';
import { z } from 'zod';
import { flag } from '../cli/flags.js';
import { type Command, command, type FlagSpec } from '../cli/spec.js';
import { UsageError } from '../cli/usage.js';
import { bytes, kvClient } from './common.js';

const FILE = { name: 'FILE', help: 'the backup file' };

/** `1=host:port,2=host:port`: every voter of the new cluster. */
const InitialCluster = z.string().transform((text, ctx) => {
  const peers = new Map<number, string>();
  for (const part of text.split(',').filter(Boolean)) {
    const [id, address, extra] = part.split('=');
    const n = Number(id);
    if (!Number.isSafeInteger(n) || n < 1 || extra !== undefined || peers.has(n)) {
      ctx.addIssue({ code: 'custom', message: `bad member "${part}": expected ID=host:port` });
      return z.NEVER;
    }
    const parsed = HostPortSchema.safeParse(address);
    if (!parsed.success) {
      ctx.addIssue({ code: 'custom', message: `bad address in "${part}": expected host:port` });
      return z.NEVER;
    }
    peers.set(n, parsed.data);
  }
  if (peers.size === 0) {
    ctx.addIssue({ code: 'custom', message: 'needs at least one ID=host:port' });
    return z.NEVER;
  }
  return peers;
});

const describe = (h: SnapshotFileHeader, fileBytes: number) => ({
  index: h.index,
  term: h.term,
  revision: h.revision,
  bytes: fileBytes,
  cluster: h.clusterId,
  members: h.members,
  createdAt: new Date(h.createdAt).toISOString(),
});

const describeText = (d: ReturnType<typeof describe>) =>
  `revision ${d.revision}, Raft index ${d.index} (term ${d.term}), ${bytes(d.bytes)}, taken ${d.createdAt} from cluster ${d.cluster}`;

const save = command({
  name: 'save',
  summary: 'back up the KV store into FILE (a consistent snapshot from the leader)',
  description:
    "Streams the Raft leader's state machine into FILE after a ReadIndex round, so it holds every write acknowledged before the command started: topics, consumer group offsets, users, ACLs and your own keys. The file carries a format version and a SHA-256; it is written beside FILE and renamed into place only once whole and checked, so FILE is never a partial backup.",
  args: [FILE],
  target: 'coordinators',
  examples: [{ command: 'strand kv snapshot save backup.snap' }],
  run: async (ctx) => {
    const file = ctx.args[0]!;
    const client = kvClient(ctx);
    const partial = `${file}.${randomBytes(4).toString('hex')}.part`;
    const out = await fsp.open(partial, 'wx');
    try {
      for await (const chunk of client.snapshot()) await out.write(chunk);
      await out.sync();
      await out.close();
      await fsp.rename(partial, file);
      const dir = await fsp.open(dirname(file), 'r');
      await dir.sync().finally(() => dir.close());
    } catch (err) {
      await out.close().catch(() => undefined);
      await fsp.rm(partial, { force: true });
      throw err;
    } finally {
      client.close();
    }
    const { header, fileBytes } = await readBackup(file, false);
    const d = describe(header, fileBytes);
    ctx.out.result({ file, ...d }, `saved ${file}: ${describeText(d)}`);
    return 0;
  },
});

const status = command({
  name: 'status',
  summary: 'check FILE and show what it holds (revision, index, size, where it came from)',
  args: [FILE],
  examples: [{ command: 'strand kv snapshot status backup.snap --json' }],
  run: async (ctx) => {
    const { header, fileBytes } = await readBackup(ctx.args[0]!, false);
    const d = describe(header, fileBytes);
    ctx.out.result(d, describeText(d));
    return 0;
  },
});

const restoreFlags = {
  'data-dir': flag.string('the new data folder (must not exist, or be empty)', {
    placeholder: 'DIR',
  }),
  name: flag.int("this node's id in the new cluster (one of --initial-cluster)", {
    min: 1,
    placeholder: 'ID',
  }),
  'initial-cluster': {
    kind: 'value',
    help: "every voter of the new cluster, as the coordinators' --peers",
    placeholder: 'ID=host:port,...',
    schema: InitialCluster,
  } satisfies FlagSpec<Map<number, string>, false>,
  'cluster-id': flag.string(
    "the new cluster's id (default: derived from the backup and --initial-cluster, so every node agrees)",
  ),
};

const restore = command({
  name: 'restore',
  summary: 'make a data folder for one coordinator of a new cluster from FILE',
  description:
    'As etcdctl snapshot restore: run it once per coordinator of the new cluster, each with its own --name and --data-dir and the same --initial-cluster, then start each coordinator on its folder with --peers set to the same list. The new cluster has a new cluster id, so brokers of the old one are refused: give it fresh brokers. A truncated or damaged FILE, or a --data-dir that is not empty, is refused and nothing is written.',
  args: [FILE],
  flags: restoreFlags,
  examples: [
    {
      command:
        'strand kv snapshot restore backup.snap --name 1 --data-dir /var/lib/strand/c1 --initial-cluster 1=10.0.0.1:2379,2=10.0.0.2:2379,3=10.0.0.3:2379',
    },
  ],
  check: ({ flags }) => {
    for (const f of ['data-dir', 'name', 'initial-cluster'] as const)
      if (flags[f] === undefined)
        throw new UsageError(`--${f} is needed`, ['kv', 'snapshot', 'restore']);
  },
  run: async (ctx) => {
    const f = ctx.flags;
    const r = await restoreBackup({
      file: ctx.args[0]!,
      dataDir: f['data-dir']!,
      id: f.name!,
      peers: f['initial-cluster']!,
      ...(f['cluster-id'] ? { clusterId: f['cluster-id'] } : {}),
    });
    ctx.out.result(
      {
        dataDir: r.dataDir,
        clusterId: r.clusterId,
        revision: r.header.revision,
        index: r.header.index,
      },
      `restored revision ${r.header.revision} into ${r.dataDir} (cluster ${r.clusterId})`,
    );
    return 0;
  },
});

export const snapshot: Command = {
  name: 'snapshot',
  summary: 'back up the KV store to a file, check a backup, restore one into a new cluster',
  subcommands: [save, status, restore],
};
