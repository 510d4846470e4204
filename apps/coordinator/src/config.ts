import {
  type ConfigField,
  HostPortSchema,
  InvalidConfigError,
  loadLayeredConfig,
} from '@strand/wire';
import { z } from 'zod';

const hostPort = HostPortSchema;

export const CoordinatorConfigSchema = z
  .object({
    id: z.coerce.number().int().min(1),
    listen: hostPort,
    /** `id=host:port` for every voter, this node included; defaults to just this node. */
    peers: z.record(z.string().regex(/^\d+$/), hostPort).optional(),
    /** Where to send Raft traffic for each peer, when not its client address (e.g. via a proxy). */
    raftPeers: z.record(z.string().regex(/^\d+$/), hostPort).optional(),
    dataDir: z.string().min(1),
    tickMs: z.coerce.number().int().min(5).max(10_000).default(30),
    electionTicks: z.coerce.number().int().min(3).max(1000).default(10),
    snapshotEvery: z.coerce.number().int().min(10).default(10_000),
    /** A broker with no heartbeat for this long is fenced (its partitions get new leaders). */
    brokerSessionTimeoutMs: z.coerce.number().int().min(100).max(600_000).default(6000),
    /** How often brokers are told to heartbeat. */
    brokerHeartbeatMs: z.coerce.number().int().min(10).max(60_000).default(500),
    /** An empty consumer group waits this long for more members before its first generation. */
    groupInitialRebalanceDelayMs: z.coerce.number().int().min(0).max(300_000).default(300),
    /** Offset commits gather this long, then go to Raft as one transaction. */
    offsetCommitFlushMs: z.coerce.number().int().min(0).max(1000).default(10),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.brokerHeartbeatMs * 2 > c.brokerSessionTimeoutMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['brokerHeartbeatMs'],
        message: 'must be at most half of brokerSessionTimeoutMs',
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
};

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
  { key: 'raftPeers', flag: 'raft-peers', env: 'STRAND_RAFT_PEERS', parse: parsePeers },
  { key: 'dataDir', flag: 'data', env: 'STRAND_DATA_DIR' },
  { key: 'tickMs', flag: 'tick-ms', env: 'STRAND_TICK_MS' },
  { key: 'electionTicks', flag: 'election-ticks' },
  { key: 'snapshotEvery', flag: 'snapshot-every' },
  { key: 'brokerSessionTimeoutMs', flag: 'broker-session-timeout-ms' },
  { key: 'brokerHeartbeatMs', flag: 'broker-heartbeat-ms' },
  { key: 'groupInitialRebalanceDelayMs', flag: 'group-initial-rebalance-delay-ms' },
  { key: 'offsetCommitFlushMs', flag: 'offset-commit-flush-ms' },
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
  return { ...c, peers: c.peers ?? { [String(c.id)]: c.listen } };
}
