import { KafkaError, type KafkaErrorCode, kafkaErrorCode } from '@strand/kafka-protocol';
import { ErrorCode, errorFromCode, GroupIdSchema } from '@strand/wire';
import type { KafkaContext } from '../handler.js';

/**
 * What the group handlers share: the group coordinator's errors as Kafka clients expect them
 * from a coordinator (an unreachable one is COORDINATOR_NOT_AVAILABLE, which sends them to
 * FindCoordinator again), and the forwarding call itself.
 */
const GROUP_ERRORS: Partial<Record<ErrorCode, KafkaErrorCode>> = {
  [ErrorCode.Unavailable]: KafkaError.COORDINATOR_NOT_AVAILABLE,
  [ErrorCode.NotLeader]: KafkaError.NOT_COORDINATOR,
  [ErrorCode.Timeout]: KafkaError.REQUEST_TIMED_OUT,
};

export const groupErrorCode = (err: unknown): KafkaErrorCode => kafkaErrorCode(err, GROUP_ERRORS);

/** The Kafka code of one member's or offset's answer ('' code: none). */
export const resultCode = (r: { code: string; message: string } | undefined): KafkaErrorCode =>
  r?.code ? groupErrorCode(errorFromCode(r.code, r.message)) : KafkaError.NONE;

/** Strand's group ids follow Kafka's topic-name rule (they are parts of KV keys). */
export const isGroupId = (id: string | null): id is string => GroupIdSchema.safeParse(id).success;

/** How long a JoinGroup may wait beyond its rebalance timeout (the coordinator answers by then). */
const LONG_POLL_SLACK_MS = 5000;
/** SyncGroup waits for the leader's, which the coordinator bounds by the rebalance timeout. */
export const SYNC_WAIT_MS = 30 * 60_000;

export function callGroups<T>(
  ctx: KafkaContext,
  method: string,
  req: unknown,
  waitMs?: number,
): Promise<T> {
  return ctx.deps.groups.call<T>(
    method,
    req,
    waitMs === undefined ? {} : { timeoutMs: waitMs + LONG_POLL_SLACK_MS },
  );
}

/** Kafka's names for group states (DescribeGroups, ListGroups). */
export const KAFKA_GROUP_STATE: Record<string, string> = {
  EMPTY: 'Empty',
  PREPARING_REBALANCE: 'PreparingRebalance',
  COMPLETING_REBALANCE: 'CompletingRebalance',
  STABLE: 'Stable',
};
