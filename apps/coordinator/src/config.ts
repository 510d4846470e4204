import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { InvalidConfigError } from '@strand/wire';
import { z } from 'zod';

const hostPort = z.string().regex(/^[A-Za-z0-9.\-[\]:]+:\d{1,5}$/, 'expected host:port');

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

/**
 * Config from (lowest to highest precedence) a JSON file (`--config`), the environment
 * (`STRAND_NODE_ID`, `STRAND_LISTEN`, `STRAND_PEERS`, `STRAND_DATA_DIR`, `STRAND_TICK_MS`)
 * and flags (`--id --listen --peers --data --tick-ms --election-ticks --snapshot-every
 * --broker-session-timeout-ms --broker-heartbeat-ms`).
 */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): CoordinatorConfig {
  let flags: ReturnType<typeof parseArgs>['values'];
  try {
    flags = parseArgs({
      args: argv,
      options: {
        config: { type: 'string' },
        id: { type: 'string' },
        listen: { type: 'string' },
        peers: { type: 'string' },
        'raft-peers': { type: 'string' },
        data: { type: 'string' },
        'tick-ms': { type: 'string' },
        'election-ticks': { type: 'string' },
        'snapshot-every': { type: 'string' },
        'broker-session-timeout-ms': { type: 'string' },
        'broker-heartbeat-ms': { type: 'string' },
        'group-initial-rebalance-delay-ms': { type: 'string' },
        'offset-commit-flush-ms': { type: 'string' },
      },
      strict: true,
    }).values;
  } catch (err) {
    throw new InvalidConfigError((err as Error).message);
  }
  let file: Record<string, unknown> = {};
  const configPath = (flags.config as string | undefined) ?? env.STRAND_CONFIG;
  if (configPath) {
    try {
      file = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new InvalidConfigError(
        `cannot read config file ${configPath}: ${(err as Error).message}`,
      );
    }
  }
  const pick = (flag: unknown, envVar: string | undefined) => flag ?? envVar;
  const merged: Record<string, unknown> = { ...file };
  const set = (key: string, value: unknown) => {
    if (value !== undefined) merged[key] = value;
  };
  set('id', pick(flags.id, env.STRAND_NODE_ID));
  set('listen', pick(flags.listen, env.STRAND_LISTEN));
  const peers = pick(flags.peers, env.STRAND_PEERS);
  if (typeof peers === 'string') set('peers', parsePeers(peers));
  const raftPeers = pick(flags['raft-peers'], env.STRAND_RAFT_PEERS);
  if (typeof raftPeers === 'string') set('raftPeers', parsePeers(raftPeers));
  set('dataDir', pick(flags.data, env.STRAND_DATA_DIR));
  set('tickMs', pick(flags['tick-ms'], env.STRAND_TICK_MS));
  set('electionTicks', flags['election-ticks']);
  set('snapshotEvery', flags['snapshot-every']);
  set('brokerSessionTimeoutMs', flags['broker-session-timeout-ms']);
  set('brokerHeartbeatMs', flags['broker-heartbeat-ms']);
  set('groupInitialRebalanceDelayMs', flags['group-initial-rebalance-delay-ms']);
  set('offsetCommitFlushMs', flags['offset-commit-flush-ms']);
  const result = CoordinatorConfigSchema.safeParse(merged);
  if (!result.success) {
    const problems = result.error.issues.map(
      (i) => `${i.path.join('.') || 'config'}: ${i.message}`,
    );
    throw new InvalidConfigError(`invalid coordinator config: ${problems.join('; ')}`);
  }
  const c = result.data;
  return { ...c, peers: c.peers ?? { [String(c.id)]: c.listen } };
}
