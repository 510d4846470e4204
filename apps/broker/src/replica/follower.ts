import type { Logger } from '@strand/ops';
import { ErrorCode, type ErrorFields, fromErrorFields, splitBatches } from '@strand/wire';
import type { Hosted } from '../partitions.js';
import type { PeerClients } from './peer-clients.js';
import { recoverProducers } from './producer-state.js';
import type { ReplicaFetcher } from './replica-fetcher.js';
import { partitionName, type ReplicationTrace, wallMs } from './replication-trace.js';

export interface FollowerContext {
  brokerId: number;
  brokerEpoch: () => number;
  brokerToken: Buffer;
  peers: PeerClients;
  /** Fetches from leaders, on one stream per leader. */
  fetcher: ReplicaFetcher;
  /** The leader's address, or undefined when unknown. */
  addressOf: (brokerId: number) => string | undefined;
  /** Wakes consumers long-polling this replica (its log or high watermark moved). */
  wake: (h: Hosted) => void;
  log: Logger;
  trace: ReplicationTrace | undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Copies one partition from its leader while this replica follows it at `epoch`: first
 * truncates whatever this log holds past the point where it diverges from the leader's
 * (asking the leader where this replica's latest epoch ends), then fetches from its own log
 * end, appending the leader's batches unchanged. Ends when the replica stops following that
 * leader at that epoch.
 */
export async function follow(
  ctx: FollowerContext,
  h: Hosted,
  leader: number,
  epoch: number,
): Promise<void> {
  const following = () =>
    h.role === 'follower' && h.leader === leader && h.leaderEpoch === epoch && !h.closed;
  let truncated = false;
  let failures = 0;
  while (following()) {
    const address = ctx.addressOf(leader);
    try {
      if (!address) throw new Error(`no address for broker ${leader}`);
      if (!truncated) {
        await truncateToLeader(ctx, h, address, epoch, following);
        truncated = true;
      }
      const res = await ctx.fetcher.fetch(
        address,
        {
          replica_id: ctx.brokerId,
          replica_epoch: ctx.brokerEpoch(),
          replica_token: ctx.brokerToken,
          max_wait_ms: 500,
          min_bytes: 1,
          max_bytes: 8 * 1024 * 1024,
          partitions: [
            {
              topic: h.topic,
              partition: h.partition,
              offset: h.log.logEndOffset,
              leader_epoch: epoch,
              max_bytes: 4 * 1024 * 1024,
              known_high_watermark: h.highWatermark,
            },
          ],
        },
        5000,
      );
      const got = ctx.trace && wallMs();
      const r = res.partitions[0];
      if (!r) throw new Error('empty fetch answer');
      if (r.error) {
        const e = fromErrorFields(r.error);
        if (e.code === ErrorCode.OffsetOutOfRange) {
          if (h.log.logEndOffset < r.log_start_offset && r.log_start_offset >= 0) {
            // The leader no longer has what we would fetch next (retention): start over there.
            await h.lock.run(async () => {
              if (!following()) return;
              await h.log.resetTo(r.log_start_offset);
              await h.epochs.truncateTo(0);
              h.producers.clear();
            });
          } else truncated = false; // we are ahead of the leader: find the divergence again
          continue;
        }
        throw e;
      }
      if (r.records.length > 0) {
        await appendFromLeader(h, r.records, following);
        if (got) ctx.trace?.copied(partitionName(h), h.log.logEndOffset, got);
      }
      const hw = Math.max(h.highWatermark, Math.min(r.high_watermark, h.log.logEndOffset));
      if (hw !== h.highWatermark) {
        h.highWatermark = hw;
        ctx.wake(h);
      }
      failures = 0;
    } catch (err) {
      failures += 1;
      if (failures === 1 || failures % 50 === 0)
        ctx.log.warn(
          { topic: h.topic, partition: h.partition, leader, epoch, failures, err },
          'fetching from the leader failed',
        );
      await sleep(Math.min(1000, 50 * 2 ** Math.min(failures, 5)));
    }
  }
}

async function truncateToLeader(
  ctx: FollowerContext,
  h: Hosted,
  address: string,
  epoch: number,
  following: () => boolean,
): Promise<void> {
  const latest = h.epochs.latest();
  if (!latest) {
    // No history: anything in this log came from an unknown leader; keep nothing unverified.
    await h.lock.run(async () => {
      if (following() && h.log.logEndOffset > h.log.logStartOffset) {
        await h.log.truncateTo(h.log.logStartOffset);
        h.producers = await recoverProducers(h.log);
      }
    });
    return;
  }
  const res = await ctx.peers.unary<{
    leader_epoch: number;
    end_offset: number;
    error: ErrorFields | null;
  }>(
    address,
    'EpochEnd',
    {
      topic: h.topic,
      partition: h.partition,
      leader_epoch: latest.epoch,
      current_leader_epoch: epoch,
    },
    5000,
  );
  if (res.error) throw fromErrorFields(res.error);
  // Where the leader's answer epoch ends in *our* log bounds what we may keep too.
  const ours = h.epochs.endOf(res.leader_epoch, h.log.logEndOffset);
  const target =
    res.leader_epoch < 0 ? h.log.logStartOffset : Math.min(res.end_offset, ours.endOffset);
  await h.lock.run(async () => {
    if (!following() || target >= h.log.logEndOffset) return;
    const end = await h.log.truncateTo(target);
    await h.epochs.truncateTo(end);
    // What producers wrote in the removed suffix must not count as written any more.
    h.producers = await recoverProducers(h.log);
    h.highWatermark = Math.min(h.highWatermark, end);
    ctx.log.info(
      { topic: h.topic, partition: h.partition, leader: h.leader, epoch: res.leader_epoch, end },
      'truncated the log where it diverged from the leader',
    );
  });
}

/** Appends the leader's batches as they are (offsets and epochs kept), learning from headers. */
function appendFromLeader(h: Hosted, records: Buffer, following: () => boolean): Promise<void> {
  return h.lock.run(async () => {
    if (!following()) return;
    await copy(h, records);
  });
}

async function copy(h: Hosted, records: Buffer): Promise<void> {
  // Headers only: the log checks every CRC as it appends.
  const batches = splitBatches(records, false);
  const first = batches[0];
  if (!first) return;
  // A compacted leader's log has gaps: its next batch may start past this log's end.
  if (first.header.baseOffset < h.log.logEndOffset)
    throw new Error(
      `leader sent offset ${first.header.baseOffset}, expected ${h.log.logEndOffset} or later`,
    );
  for (const b of batches)
    await h.epochs.assign(b.header.partitionLeaderEpoch, b.header.baseOffset);
  await h.log.appendCopy(records);
  for (const b of batches) h.producers.record(b.header, b.header.baseOffset);
}
