import type { ClusterDescription, TopicDescription } from '@strand/client';
import { table } from '../cli/output.js';
import { command } from '../cli/spec.js';
import { withAdmin } from './common.js';

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

function clusterText(c: ClusterDescription, topics: TopicHealth[]): string {
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
        })),
    ),
    '',
    'Coordinators',
    table(
      [...c.coordinators]
        .sort((a, b) => a.id - b.id)
        .map((x) => ({ id: x.id, address: x.address, leader: x.isLeader ? '*' : '' })),
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
  summary: 'brokers, coordinators, the controller and partition leaders per topic',
  target: 'brokers',
  examples: [{ command: 'strand cluster' }, { command: 'strand cluster --json' }],
  run: (ctx) =>
    withAdmin(ctx, async (admin) => {
      const [c, topics] = await Promise.all([admin.describeCluster(), admin.listTopics()]);
      const health = topics.map(topicHealth).sort((a, b) => a.name.localeCompare(b.name));
      ctx.out.result(
        {
          clusterId: c.clusterId,
          controllerId: c.controllerId,
          brokers: c.brokers,
          coordinators: c.coordinators,
          topics: health,
          malformedRecords: c.malformedRecords,
        },
        () => clusterText(c, health),
      );
    }),
});
