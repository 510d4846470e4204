import { onResource } from '@strand/auth';
import { DescribeGroups, KafkaError } from '@strand/kafka-protocol';
import {
  ErrorCode,
  encodeConsumerAssignment,
  encodeConsumerSubscription,
  type StrandError,
} from '@strand/wire';
import { handler, type KafkaContext } from '../handler.js';
import { callGroups, groupErrorCode, isGroupId, KAFKA_GROUP_STATE } from './groups-common.js';
import { kafkaProtocolType } from './list-groups.js';

interface RawDescribe {
  group: {
    state: string;
    protocol: string;
    generation: number;
    members: number;
    protocol_type: string;
  };
  members: {
    member_id: string;
    group_instance_id: string;
    client_id: string;
    client_host: string;
    subscription: { topics: string[] } | null;
    assignment: { topic: string; partitions: number[] }[];
    protocol_metadata: Buffer;
    protocol_assignment: Buffer;
  }[];
}

const EMPTY = Buffer.alloc(0);

/**
 * DescribeGroups: state, protocol and members of each group. As in Kafka, members' metadata
 * and assignments (and the protocol) are shown only while a group is stable; an unknown group
 * is "Dead". Strand consumers appear as members of a consumer group, their subscriptions and
 * assignments in Kafka's consumer protocol.
 */
export const describeGroups = handler(DescribeGroups, {
  authorization: { inHandler: true },
  async handle(req, ctx) {
    return {
      throttleTimeMs: 0,
      groups: await Promise.all(req.groups.map((id) => describeOne(ctx, id))),
    };
  },
});

async function describeOne(ctx: KafkaContext, groupId: string) {
  const dead = (errorCode: number) => ({
    errorCode,
    groupId,
    groupState: 'Dead',
    protocolType: '',
    protocolData: '',
    members: [],
  });
  if (!isGroupId(groupId)) return dead(KafkaError.INVALID_GROUP_ID);
  if (!ctx.may(onResource('describeGroup', 'group', groupId), true))
    return dead(KafkaError.GROUP_AUTHORIZATION_FAILED);
  let r: RawDescribe;
  try {
    r = await callGroups<RawDescribe>(ctx, 'DescribeGroup', { group_id: groupId });
  } catch (err) {
    if ((err as StrandError).code === ErrorCode.UnknownGroup) return dead(KafkaError.NONE);
    return dead(groupErrorCode(err));
  }
  const stable = r.group.state === 'STABLE';
  const kafka = r.group.protocol_type !== '';
  return {
    errorCode: KafkaError.NONE,
    groupId,
    groupState: KAFKA_GROUP_STATE[r.group.state] ?? r.group.state,
    protocolType: kafkaProtocolType(r.group),
    protocolData: stable ? r.group.protocol : '',
    members: r.members.map((m) => ({
      memberId: m.member_id,
      groupInstanceId: m.group_instance_id || null,
      clientId: m.client_id,
      clientHost: m.client_host,
      memberMetadata: !stable
        ? EMPTY
        : kafka
          ? m.protocol_metadata
          : encodeConsumerSubscription({
              topics: m.subscription?.topics ?? [],
              userData: null,
              ownedPartitions: [],
            }),
      memberAssignment: !stable
        ? EMPTY
        : kafka
          ? m.protocol_assignment
          : encodeConsumerAssignment({ partitions: m.assignment, userData: null }),
    })),
  };
}
