import { checkGroupId, InvalidRequestError, UnknownGroupError } from '@strand/wire';
import { tpKey } from '../topics/list-offsets.js';
import type { PartitionOffsets, TopicPartition } from '../topics/types.js';
import type { GroupClient } from './coordinator-client.js';
import type {
  CommittedOffset,
  GroupDescription,
  GroupSummary,
  PartitionLag,
  ResetSpec,
} from './types.js';
import { fetchCommitted, flatten, type RawDescribeGroup, type RawGroupSummary } from './wire.js';

type ListOffsets = (
  topic: string,
  spec: 'earliest' | 'latest' | { timestamp: number },
) => Promise<PartitionOffsets[]>;

/**
 * Group administration for Admin: the coordinator knows members and committed offsets, the
 * brokers know where each log ends; lag is the difference.
 */
export class GroupAdmin {
  constructor(
    private readonly client: GroupClient,
    private readonly listOffsets: ListOffsets,
  ) {}

  async list(): Promise<GroupSummary[]> {
    const res = await this.client.call<{ groups: RawGroupSummary[] }>('ListGroups', {});
    const ends = new Map<string, Promise<Map<number, number>>>();
    return Promise.all(
      res.groups.map(async (g) => {
        const committed = await fetchCommitted(this.client, g.group_id);
        const lags = await this.lags([...committed.values()], new Map(), ends);
        return { ...summary(g), lag: total(lags) };
      }),
    );
  }

  async describe(groupId: string): Promise<GroupDescription> {
    checkGroupId(groupId);
    const res = await this.client.call<RawDescribeGroup>('DescribeGroup', { group_id: groupId });
    const committed = await fetchCommitted(this.client, groupId);
    const owners = new Map<string, string>();
    const members = res.members.map((m) => {
      const assignment = flatten(m.assignment);
      for (const tp of assignment) owners.set(tpKey(tp.topic, tp.partition), m.member_id);
      return {
        memberId: m.member_id,
        groupInstanceId: m.group_instance_id,
        clientId: m.client_id,
        clientHost: m.client_host,
        subscription: {
          topics: m.subscription?.topics ?? [],
          pattern: m.subscription?.pattern ?? '',
        },
        assignment,
      };
    });
    const rows = new Map<string, TopicPartition>();
    for (const c of committed.values()) rows.set(tpKey(c.topic, c.partition), c);
    for (const m of members)
      for (const tp of m.assignment) rows.set(tpKey(tp.topic, tp.partition), tp);
    const offsets = await this.lags(
      [...rows.values()].sort((a, b) =>
        a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition,
      ),
      committed,
      new Map(),
      owners,
    );
    const g = res.group ?? {
      group_id: groupId,
      state: 'EMPTY' as const,
      protocol: '',
      generation: 0,
      members: 0,
      protocol_type: '',
    };
    return { ...summary(g), lag: total(offsets), leaderId: res.leader_id, members, offsets };
  }

  /**
   * Moves the committed offsets of an inactive group: of `topic`'s partitions, or of every
   * partition the group has offsets for. Offsets are clamped to each log's range.
   */
  async reset(
    groupId: string,
    spec: ResetSpec,
    topic?: string,
  ): Promise<{ topic: string; partition: number; offset: number }[]> {
    checkGroupId(groupId);
    if (
      typeof spec === 'object' &&
      'offset' in spec &&
      !(Number.isSafeInteger(spec.offset) && spec.offset >= 0)
    )
      throw new InvalidRequestError(`invalid offset ${spec.offset}`);
    let topics: string[];
    if (topic) topics = [topic];
    else {
      const committed = await fetchCommitted(this.client, groupId);
      topics = [...new Set([...committed.values()].map((c) => c.topic))];
      if (topics.length === 0)
        throw new UnknownGroupError(
          groupId,
          `group "${groupId}" has no committed offsets: name a topic to reset`,
        );
    }
    const out: { topic: string; partition: number; offset: number }[] = [];
    for (const t of topics) {
      const latest = await this.listOffsets(t, 'latest');
      const target =
        spec === 'earliest' || spec === 'latest'
          ? await this.listOffsets(t, spec)
          : 'timestamp' in spec
            ? await this.listOffsets(t, spec)
            : undefined;
      for (const l of latest) {
        const at =
          target === undefined
            ? Math.min(
                Math.max((spec as { offset: number }).offset, l.logStartOffset),
                l.highWatermark,
              )
            : (target.find((x) => x.partition === l.partition)?.offset ?? l.highWatermark);
        out.push({ topic: t, partition: l.partition, offset: at < 0 ? l.highWatermark : at });
      }
    }
    await this.client.call('ResetOffsets', {
      group_id: groupId,
      offsets: out.map((o) => ({ ...o, metadata: '' })),
    });
    return out;
  }

  async delete(groupId: string): Promise<void> {
    checkGroupId(groupId);
    await this.client.call('DeleteGroup', { group_id: groupId });
  }

  private async lags(
    tps: TopicPartition[],
    committed: Map<string, CommittedOffset>,
    ends: Map<string, Promise<Map<number, number>>>,
    owners = new Map<string, string>(),
  ): Promise<PartitionLag[]> {
    const endOf = (topic: string) => {
      let p = ends.get(topic);
      if (!p) {
        p = this.listOffsets(topic, 'latest').then(
          (list) => new Map(list.map((x) => [x.partition, x.highWatermark])),
          () => new Map<number, number>(),
        );
        ends.set(topic, p);
      }
      return p;
    };
    return Promise.all(
      tps.map(async (tp) => {
        const key = tpKey(tp.topic, tp.partition);
        const c = committed.get(key) ?? (tp as Partial<CommittedOffset>);
        const end = (await endOf(tp.topic)).get(tp.partition) ?? 0;
        const offset = typeof c.offset === 'number' ? c.offset : null;
        return {
          topic: tp.topic,
          partition: tp.partition,
          committed: offset,
          metadata: c.metadata ?? '',
          logEndOffset: end,
          lag: offset === null ? null : Math.max(0, end - offset),
          memberId: owners.get(key) ?? null,
        };
      }),
    );
  }
}

const summary = (g: RawGroupSummary) => ({
  groupId: g.group_id,
  state: g.state,
  protocolType: g.protocol_type,
  protocol: g.protocol,
  generation: g.generation,
  members: g.members,
});

const total = (lags: PartitionLag[]) => lags.reduce((sum, l) => sum + (l.lag ?? 0), 0);
