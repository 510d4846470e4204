import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { Admin } from '@strand/client';
import { type KvNode, type KvNodeEvents, Role } from '@strand/kv';
import type { Metrics } from '@strand/ops';
import type { Controller } from './controller/controller.js';
import type { GroupCoordinator, GroupSnapshot } from './groups/coordinator.js';

/** Log end offsets are asked of the brokers at most this often (a scrape in between reuses them). */
const LOG_ENDS_MAX_AGE_MS = 5000;
/** A scrape waits at most this long for the brokers; past it, the last figures are reported. */
const LOG_ENDS_BUDGET_MS = 2000;

/** Bytes of the files directly in `dir` (RocksDB keeps its files flat). */
async function dirBytes(dir: string): Promise<number> {
  let n = 0;
  for (const name of await fsp.readdir(dir).catch(() => [] as string[])) {
    const st = await fsp.stat(join(dir, name)).catch(() => undefined);
    if (st?.isFile()) n += st.size;
  }
  return n;
}

/**
 * Where each partition's log ends, as its leader reports it (the high watermark: what a
 * consumer can read), for the partitions groups have committed offsets on. Asked of the
 * brokers through the SDK at most every few seconds.
 */
class LogEnds {
  private ends = new Map<string, number>();
  private at = 0;
  private inflight: Promise<void> | undefined;
  private admin: { bootstrap: string; admin: Admin } | undefined;

  constructor(private readonly brokers: () => string[]) {}

  get(topic: string, partition: number): number | undefined {
    return this.ends.get(`${topic}/${partition}`);
  }

  /** Refreshes the ends of `topics` if they are stale, waiting at most the budget. */
  async refresh(topics: Set<string>): Promise<void> {
    if (topics.size === 0 || Date.now() - this.at < LOG_ENDS_MAX_AGE_MS) return;
    this.inflight ??= this.load(topics).finally(() => {
      this.inflight = undefined;
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.inflight,
      new Promise((r) => {
        timer = setTimeout(r, LOG_ENDS_BUDGET_MS);
      }),
    ]);
    clearTimeout(timer);
  }

  close(): void {
    this.admin?.admin.close();
  }

  private async load(topics: Set<string>): Promise<void> {
    const admin = this.adminFor(this.brokers());
    if (!admin) return;
    const ends = new Map(this.ends);
    await Promise.all(
      [...topics].map(async (topic) => {
        const offsets = await admin.listOffsets(topic, 'latest').catch(() => []);
        for (const o of offsets) ends.set(`${topic}/${o.partition}`, o.offset);
      }),
    );
    this.ends = ends;
    this.at = Date.now();
  }

  private adminFor(addresses: string[]): Admin | undefined {
    if (addresses.length === 0) return undefined;
    const bootstrap = [...addresses].sort().join(',');
    if (this.admin?.bootstrap !== bootstrap) {
      this.admin?.admin.close();
      this.admin = {
        bootstrap,
        admin: new Admin({ bootstrap: bootstrap.split(','), requestTimeoutMs: 1500, retries: 1 }),
      };
    }
    return this.admin.admin;
  }
}

/** Lag per group and topic: log end minus committed offset, summed and at most. */
function groupLag(
  groups: GroupSnapshot[],
  ends: LogEnds,
): { group: string; topic: string; sum: number; max: number }[] {
  const out = new Map<string, { group: string; topic: string; sum: number; max: number }>();
  for (const g of groups)
    for (const o of g.offsets) {
      const end = ends.get(o.topic, o.partition);
      if (end === undefined) continue;
      const lag = Math.max(0, end - o.offset);
      const k = `${g.id}\u0000${o.topic}`;
      const cur = out.get(k) ?? { group: g.id, topic: o.topic, sum: 0, max: 0 };
      cur.sum += lag;
      cur.max = Math.max(cur.max, lag);
      out.set(k, cur);
    }
  return [...out.values()];
}

/**
 * The coordinator's metrics beside Node's defaults: Raft (`strand_raft_…`), the KV store
 * (`strand_kv_…`), and on the active controller the cluster (`strand_controller_…`) and its
 * consumer groups (`strand_group_…`, lag included). Followers report 0 for every
 * `strand_controller_…` gauge and no group series, so sums across coordinators count each
 * figure once.
 */
export class CoordinatorMetrics {
  private readonly walSync;
  private readonly snapshotBuild;
  private readonly snapshotsSent;
  private readonly snapshotBytesSent;
  private readonly rebalances;
  private readonly commitCalls;
  private readonly commits;
  private readonly logEnds: LogEnds;

  constructor(
    private readonly m: Metrics,
    dataDir: string,
  ) {
    this.walSync = m.histogram(
      'raft_wal_sync_duration_seconds',
      'Synced writes of the Raft log and hard state (one per batch of entries)',
    );
    this.snapshotBuild = m.histogram(
      'raft_snapshot_build_duration_seconds',
      'Snapshots built for followers behind the compacted log: from capture to bytes',
    );
    this.snapshotsSent = m.counter(
      'raft_snapshots_sent_total',
      'Snapshots sent to followers behind the compacted log (resends included)',
    );
    this.snapshotBytesSent = m.counter(
      'raft_snapshot_sent_bytes_total',
      'Bytes of the snapshots sent to followers',
    );
    this.rebalances = m.counter(
      'group_rebalances_total',
      'Generations completed by consumer groups while this coordinator was the active one',
      ['group'],
    );
    this.commitCalls = m.counter(
      'group_commit_calls_total',
      'Offset commit calls answered: single commits, or batches of them',
      ['via'],
    );
    this.commits = m.counter(
      'group_commits_total',
      'Offset commits answered, by the kind of call that carried them',
      ['via'],
    );
    this.logEnds = new LogEnds(() => this.brokerAddresses());
    const dbSize = m.gauge(
      'kv_db_size_bytes',
      'Bytes of the RocksDB files (Raft log and KV state)',
    );
    m.onScrape(async () => dbSize.set(await dirBytes(dataDir)));
  }

  private brokerAddresses: () => string[] = () => [];

  /** Hooks for the KV node's events. */
  nodeEvents(): KvNodeEvents {
    return {
      walSynced: (s) => this.walSync.observe(s),
      snapshotBuilt: (_bytes, seconds) => this.snapshotBuild.observe(seconds),
      snapshotSent: (_to, bytes) => {
        this.snapshotsSent.inc();
        this.snapshotBytesSent.inc(bytes);
      },
    };
  }

  rebalanced(group: string): void {
    this.rebalances.inc({ group });
  }

  /** A commit call (one commit, or a batch of `commits`) reached the group service. */
  commitCall(via: 'single' | 'batch', commits: number): void {
    this.commitCalls.inc({ via });
    this.commits.inc({ via }, commits);
  }

  close(): void {
    this.logEnds.close();
  }

  /** The gauges read at scrape time from the node, the controller and the groups. */
  sample(node: KvNode, controller: Controller, groups: GroupCoordinator): void {
    const m = this.m;
    this.brokerAddresses = () =>
      controller
        .brokers()
        .filter((b) => !b.fenced)
        .map((b) => b.address);
    const status = () => node.status();
    const leading = () => status().role === Role.Leader;
    m.gaugeOf('raft_has_leader', '1 while this node knows a leader (itself included)', () =>
      status().leader > 0 ? 1 : 0,
    );
    m.gaugeOf(
      'raft_is_leader',
      '1 while this node is the Raft leader (the active controller)',
      () => (leading() ? 1 : 0),
    );
    m.gaugeOf('raft_term', 'The Raft term this node is in', () => status().term);
    m.gaugeOf(
      'raft_commit_index',
      'The highest Raft log index known committed',
      () => status().commit,
    );
    m.gaugeOf(
      'raft_applied_index',
      'The highest Raft log index applied to the KV state',
      () => status().applied,
    );
    m.counterOf(
      'raft_leader_changes_total',
      'Times the leader this node knows changed',
      () => node.stats().leaderChanges,
    );
    m.counterOf(
      'raft_proposals_committed_total',
      'Proposals made on this node that were committed and applied',
      () => node.stats().proposalsCommitted,
    );
    m.counterOf(
      'raft_proposals_failed_total',
      'Proposals made on this node that failed (no leader, timeout, shutdown)',
      () => node.stats().proposalsFailed,
    );
    m.gaugeOf(
      'raft_proposals_pending',
      'Proposals made on this node waiting to be committed',
      () => node.stats().proposalsPending,
    );
    m.gaugeOf('kv_keys', 'Live keys in the KV store', () => node.sm.stats().keys);
    m.gaugeOf(
      'kv_rows',
      'Unversioned rows in the KV store (committed offsets, entry format 2 on)',
      () => node.sm.stats().rows,
    );
    m.gaugeOf(
      'kv_leases',
      'Leases granted and not yet expired or revoked',
      () => node.sm.stats().leases,
    );
    m.gaugeOf('kv_watches', 'Watches open on this node', () => node.sm.stats().watches);
    m.gaugeOf('kv_revision', 'The KV store revision', () => node.sm.revision);
    m.gaugeOf(
      'kv_entry_format',
      'The Raft entry format KV commands are written in (0 JSON, 1 binary), as applied here',
      () => node.sm.format,
    );

    m.gaugeOf('controller_active', '1 on the active controller (the Raft leader)', () =>
      leading() ? 1 : 0,
    );
    const health = () => (leading() ? controller.health() : undefined);
    m.gaugeOf(
      'controller_brokers',
      'Registered brokers, alive or fenced (active controller only)',
      () => {
        const h = health();
        return [
          [{ state: 'alive' }, h?.brokersAlive ?? 0],
          [{ state: 'fenced' }, h?.brokersFenced ?? 0],
        ];
      },
      ['state'],
    );
    const one = (pick: (h: NonNullable<ReturnType<typeof health>>) => number) => () => {
      const h = health();
      return h ? pick(h) : 0;
    };
    m.gaugeOf(
      'controller_topics',
      'Topics (active controller only)',
      one((h) => h.topics),
    );
    m.gaugeOf(
      'controller_partitions',
      'Partitions (active controller only)',
      one((h) => h.partitions),
    );
    m.gaugeOf(
      'controller_offline_partitions',
      'Partitions without a leader (active controller only)',
      one((h) => h.offlinePartitions),
    );
    m.gaugeOf(
      'controller_under_replicated_partitions',
      'Partitions whose ISR is smaller than their replica set (active controller only)',
      one((h) => h.underReplicatedPartitions),
    );

    const members = m.gauge('group_members', 'Members of each consumer group', ['group']);
    const generation = m.gauge('group_generation', 'Each group\u2019s current generation', [
      'group',
    ]);
    const lag = m.gauge(
      'group_lag',
      'Records not yet consumed by a group: log end minus committed offset, summed over a topic\u2019s partitions',
      ['group', 'topic'],
    );
    const maxLag = m.gauge(
      'group_max_lag',
      'The largest lag of a group on any one partition of a topic',
      ['group', 'topic'],
    );
    m.onScrape(async () => {
      for (const g of [members, generation, lag, maxLag]) g.reset();
      const snapshot = groups.snapshot();
      for (const g of snapshot) {
        members.set({ group: g.id }, g.members);
        generation.set({ group: g.id }, g.generation);
      }
      await this.logEnds.refresh(new Set(snapshot.flatMap((g) => g.offsets.map((o) => o.topic))));
      for (const l of groupLag(snapshot, this.logEnds)) {
        lag.set({ group: l.group, topic: l.topic }, l.sum);
        maxLag.set({ group: l.group, topic: l.topic }, l.max);
      }
    });
  }
}
