import type { ClusterDescription, TopicDescription } from '@strand/client';
import { table } from '../cli/output.js';
import { command } from '../cli/spec.js';
import { type ConnectionSecurity, connectionSecurity, withAdmin } from './common.js';
import {
  coordinatorReadiness,
  type NodeReadiness,
  probeReadiness,
  readinessText,
} from './readiness.js';

/** A node whose `/readyz` has not answered by then is shown as unknown. */
const READYZ_TIMEOUT_MS = 3000;

/** Each node's `/readyz`, by broker id and by coordinator id. */
interface ClusterReadiness {
  brokers: Map<number, NodeReadiness>;
  coordinators: Map<number, NodeReadiness>;
}

async function readinessOf(
  c: ClusterDescription,
  timeoutMs: number,
  security: ConnectionSecurity,
): Promise<ClusterReadiness> {
  const ca = security.tls?.ca;
  const [brokers, coordinators] = await Promise.all([
    Promise.all(
      c.brokers.map(async (b) => [b.id, await probeReadiness(b.adminUrl, timeoutMs, ca)] as const),
    ),
    Promise.all(
      c.coordinators.map(
        async (x) => [x.id, await coordinatorReadiness(x.address, timeoutMs, security)] as const,
      ),
    ),
  ]);
  return { brokers: new Map(brokers), coordinators: new Map(coordinators) };
}

export interface TopicHealth {
  name: string;
  partitions: number;
  /** Partitions that have a leader. */
  withLeader: number;
  /** Partitions without a leader (unreadable, unwritable). */
  offline: number;
  /** Partitions whose ISR is smaller than their replica set. */
  underReplicated: number;
  /** How many partitions of the topic each broker leads. */
  leadersByBroker: Record<string, number>;
}

export function topicHealth(t: TopicDescription): TopicHealth {
  const leadersByBroker: Record<string, number> = {};
  let withLeader = 0;
  let underReplicated = 0;
  for (const p of t.partitions) {
    if (p.leader >= 0) {
      withLeader += 1;
      leadersByBroker[p.leader] = (leadersByBroker[p.leader] ?? 0) + 1;
    }
    if (p.isr.length < p.replicas.length) underReplicated += 1;
  }
  return {
    name: t.name,
    partitions: t.partitions.length,
    withLeader,
    offline: t.partitions.length - withLeader,
    underReplicated,
    leadersByBroker,
  };
}

function clusterText(
  c: ClusterDescription,
  topics: TopicHealth[],
  ready: ClusterReadiness,
): string {
  return [
    `cluster ${c.clusterId}, controller ${c.controllerId < 0 ? 'none' : c.controllerId}`,
    '',
    'Brokers',
    table(
      [...c.brokers]
        .sort((a, b) => a.id - b.id)
        .map((b) => ({
          id: b.id,
          address: b.address,
          state: b.fenced ? 'fenced' : 'alive',
          epoch: b.epoch,
          rack: b.rack || '-',
          readiness: readinessText(ready.brokers.get(b.id)),
        })),
    ),
    '',
    'Coordinators',
    table(
      [...c.coordinators]
        .sort((a, b) => a.id - b.id)
        .map((x) => ({
          id: x.id,
          address: x.address,
          leader: x.isLeader ? '*' : '',
          readiness: readinessText(ready.coordinators.get(x.id)),
        })),
    ),
    '',
    'Topics',
    table(
      topics.map((t) => ({
        name: t.name,
        partitions: t.partitions,
        leaders: Object.entries(t.leadersByBroker)
          .map(([b, n]) => `${b}:${n}`)
          .join(','),
        offline: t.offline,
        'under-replicated': t.underReplicated,
      })),
    ),
    ...(c.malformedRecords.length === 0
      ? []
      : [
          '',
          'Malformed metadata records (skipped; a topic record goes with `strand topic delete`)',
          table(
            c.malformedRecords.map((m) => ({
              key: m.key,
              revision: m.modRevision,
              error: m.error,
            })),
          ),
        ]),
  ].join('\n');
}

export const cluster = command({
  name: 'cluster',
  summary:
    'brokers, coordinators (each with its readiness), the controller and partition leaders per topic',
  description:
    "Each broker's and coordinator's readiness is what its admin listener's /readyz says (ready, or NOT READY and the first check that failed; unknown for a node without one or that does not answer within 3 s). A TLS cluster's admin listeners are HTTPS with the nodes' own certificates: --tls-ca (the cluster's CA) checks them too.",
  target: 'brokers',
  examples: [{ command: 'strand cluster' }, { command: 'strand cluster --json' }],
  run: (ctx) =>
    withAdmin(ctx, async (admin) => {
      const [c, topics] = await Promise.all([admin.describeCluster(), admin.listTopics()]);
      const health = topics.map(topicHealth).sort((a, b) => a.name.localeCompare(b.name));
      const ready = await readinessOf(
        c,
        Math.min(ctx.timeoutMs, READYZ_TIMEOUT_MS),
        connectionSecurity(ctx),
      );
      ctx.out.result(
        {
          clusterId: c.clusterId,
          controllerId: c.controllerId,
          brokers: c.brokers.map((b) => ({ ...b, readiness: ready.brokers.get(b.id) })),
          coordinators: c.coordinators.map((x) => ({
            ...x,
            readiness: ready.coordinators.get(x.id),
          })),
          topics: health,
          malformedRecords: c.malformedRecords,
        },
        () => clusterText(c, health, ready),
      );
    }),
});
