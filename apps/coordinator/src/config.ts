import { ENTRY_VERSION } from '@strand/kv';
import { OPS_FLAGS, OpsConfigSchema } from '@strand/ops';
import { AUTH_FLAGS, AuthConfigShape, authConfigProblem } from '@strand/security';
import {
  CONNECTION_LIMIT_FLAGS,
  type ConfigField,
  ConnectionLimitsSchema,
  HostPortSchema,
  InvalidConfigError,
  loadLayeredConfig,
  TLS_FLAGS,
  TlsConfigShape,
  tlsPathsProblem,
} from '@strand/wire';
import { z } from 'zod';

const hostPort = HostPortSchema;

export const CoordinatorConfigSchema = z
  .object({
    id: z.coerce.number().int().min(1),
    /** host:port for clients, tools and brokers (the KV API, groups, the controller). */
    listen: hostPort,
    /**
     * host:port for Raft traffic from the other coordinators only (default: `listen`'s host
     * and port + 1, as etcd's 2379/2380). Not opened when this node is the only voter, unless
     * given.
     */
    peerListen: hostPort.optional(),
    /** `id=host:port` for every voter, this node included; defaults to just this node. */
    peers: z.record(z.string().regex(/^\d+$/), hostPort).optional(),
    /**
     * Where each peer's Raft listener is (default: its `peers` host and port + 1); e.g. a
     * proxy, or a port of its own.
     */
    raftPeers: z.record(z.string().regex(/^\d+$/), hostPort).optional(),
    /**
     * The cluster's id, carried by every Raft message and broker registration (a node or
     * broker of another cluster is refused). Default: the one in the data folder, else made
     * at the first start (random for one voter; from the peer list for several, so that all
     * of them agree).
     */
    clusterId: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/, 'a cluster id is 1..64 letters, digits, ".", "_" or "-"')
      .optional(),
    /**
     * Joining a running cluster (after `strand kv member add`): `peers` lists its members and
     * this node, `clusterId` is theirs, and this node starts as a learner instead of
     * bootstrapping a new cluster. Ignored once the data folder has Raft state.
     */
    join: z
      .union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')])
      .default(false),
    dataDir: z.string().min(1),
    tickMs: z.coerce.number().int().min(5).max(10_000).default(30),
    /**
     * A follower that hears nothing from the leader for this many ticks (randomized up to
     * twice that) starts an election. 40 × 30 ms: a leader busy with clients on a loaded
     * machine is late, not gone — in the groups bench (5,000 members on 2 cores) the leader's
     * heartbeats came up to 1.2 s apart while it served them, and 10 ticks (300–600 ms) cost an
     * election, and every group a rebalance, at each such stall. etcd's default is 1 s.
     */
    electionTicks: z.coerce.number().int().min(3).max(1000).default(40),
    snapshotEvery: z.coerce.number().int().min(10).default(10_000),
    /**
     * The newest Raft entry format for KV commands this node reads and says it reads (0: JSON,
     * 1: binary, 2: binary with unversioned rows, which committed offsets take; default: the
     * newest). The cluster writes a format once every member reads it,
     * so a lower one on any member holds the whole cluster at it: during a rolling upgrade,
     * until a rollback is no longer wanted. Refused at start when the cluster is past it.
     */
    kvFormatMax: z.coerce.number().int().min(0).max(ENTRY_VERSION).default(ENTRY_VERSION),
    /**
     * Disk space kept back: below this much free space the coordinator refuses writes that add
     * data (STORAGE_FULL), and this much is held in a reserve file so that deletes, RocksDB's
     * compactions and a restart can still write.
     */
    diskReserveBytes: z.coerce
      .number()
      .int()
      .min(0)
      .max(64 * 1024 * 1024 * 1024)
      .default(16 * 1024 * 1024),
    /** A broker with no heartbeat for this long is fenced (its partitions get new leaders). */
    brokerSessionTimeoutMs: z.coerce.number().int().min(100).max(600_000).default(6000),
    /** How often brokers are told to heartbeat. */
    brokerHeartbeatMs: z.coerce.number().int().min(10).max(60_000).default(500),
    /** An empty consumer group waits this long for more members before its first generation. */
    groupInitialRebalanceDelayMs: z.coerce.number().int().min(0).max(300_000).default(300),
    /** Offset commits gather this long, then go to Raft as one transaction. */
    offsetCommitFlushMs: z.coerce.number().int().min(0).max(1000).default(10),
    ...ConnectionLimitsSchema.shape,
    ...OpsConfigSchema.shape,
    ...TlsConfigShape,
    ...AuthConfigShape,
  })
  .strict()
  .superRefine((c, ctx) => {
    const tls = tlsPathsProblem(c);
    if (tls) ctx.addIssue({ code: 'custom', path: ['tlsCert'], message: tls });
    const auth = authConfigProblem(c);
    if (auth) ctx.addIssue({ code: 'custom', path: ['authentication'], message: auth });
    if (c.brokerHeartbeatMs * 2 > c.brokerSessionTimeoutMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['brokerHeartbeatMs'],
        message: 'must be at most half of brokerSessionTimeoutMs',
      });
    }
    if (c.peerListen && c.peerListen === c.listen) {
      ctx.addIssue({
        code: 'custom',
        path: ['peerListen'],
        message: 'must differ from listen: Raft traffic has a listener of its own',
      });
    }
    if (c.join && (!c.clusterId || Object.keys(c.peers ?? {}).length < 2)) {
      ctx.addIssue({
        code: 'custom',
        path: ['join'],
        message:
          "needs --cluster-id (the running cluster's) and --peers with its members and this node, as strand kv member add prints them",
      });
    }
    if (c.peers && !(String(c.id) in c.peers)) {
      ctx.addIssue({
        code: 'custom',
        path: ['peers'],
        message: `must include this node's id ${c.id}`,
      });
    }
  });

export type CoordinatorConfig = z.infer<typeof CoordinatorConfigSchema> & {
  peers: Record<string, string>;
  /** Where to dial each other voter's Raft listener. */
  raftPeers: Record<string, string>;
};

/** The peer port beside a client address: the same host, the next port. */
export function peerAddressOf(clientAddress: string): string {
  const at = clientAddress.lastIndexOf(':');
  const port = Number(clientAddress.slice(at + 1));
  if (port >= 65535)
    throw new InvalidConfigError(
      `no port after ${clientAddress} for Raft traffic: give --peer-listen / --raft-peers`,
    );
  return `${clientAddress.slice(0, at)}:${port + 1}`;
}

function parsePeers(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(',').filter(Boolean)) {
    const [id, addr] = part.split('=');
    if (!id || !addr) throw new InvalidConfigError(`bad peer "${part}": expected id=host:port`);
    out[id.trim()] = addr.trim();
  }
  return out;
}

const FIELDS: readonly ConfigField[] = [
  { key: 'id', flag: 'id', env: 'STRAND_NODE_ID' },
  { key: 'listen', flag: 'listen', env: 'STRAND_LISTEN' },
  { key: 'peers', flag: 'peers', env: 'STRAND_PEERS', parse: parsePeers },
  { key: 'peerListen', flag: 'peer-listen', env: 'STRAND_PEER_LISTEN' },
  { key: 'raftPeers', flag: 'raft-peers', env: 'STRAND_RAFT_PEERS', parse: parsePeers },
  { key: 'clusterId', flag: 'cluster-id', env: 'STRAND_CLUSTER_ID' },
  { key: 'join', flag: 'join', env: 'STRAND_JOIN' },
  { key: 'dataDir', flag: 'data', env: 'STRAND_DATA_DIR' },
  { key: 'tickMs', flag: 'tick-ms', env: 'STRAND_TICK_MS' },
  { key: 'electionTicks', flag: 'election-ticks' },
  { key: 'snapshotEvery', flag: 'snapshot-every' },
  { key: 'kvFormatMax', flag: 'kv-format-max', env: 'STRAND_KV_FORMAT_MAX' },
  { key: 'diskReserveBytes', flag: 'disk-reserve-bytes' },
  { key: 'brokerSessionTimeoutMs', flag: 'broker-session-timeout-ms' },
  { key: 'brokerHeartbeatMs', flag: 'broker-heartbeat-ms' },
  { key: 'groupInitialRebalanceDelayMs', flag: 'group-initial-rebalance-delay-ms' },
  { key: 'offsetCommitFlushMs', flag: 'offset-commit-flush-ms' },
  ...CONNECTION_LIMIT_FLAGS,
  ...OPS_FLAGS,
  ...TLS_FLAGS,
  ...AUTH_FLAGS,
];

/**
 * Config from (lowest to highest precedence) a JSON file (`--config` or `STRAND_CONFIG`),
 * the environment and the flags listed in FIELDS.
 */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): CoordinatorConfig {
  const c = loadLayeredConfig({
    what: 'coordinator',
    argv,
    env,
    configEnv: 'STRAND_CONFIG',
    fields: FIELDS,
    schema: CoordinatorConfigSchema,
  });
  const peers = c.peers ?? { [String(c.id)]: c.listen };
  const raftPeers: Record<string, string> = {};
  for (const [id, address] of Object.entries(peers))
    if (id !== String(c.id)) raftPeers[id] = c.raftPeers?.[id] ?? peerAddressOf(address);
  const several = Object.keys(peers).length > 1;
  return {
    ...c,
    peers,
    raftPeers,
    ...(several || c.peerListen ? { peerListen: c.peerListen ?? peerAddressOf(c.listen) } : {}),
  };
}
