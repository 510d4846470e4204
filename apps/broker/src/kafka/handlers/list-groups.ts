import { onResource } from '@strand/auth';
import { KafkaError, ListGroups } from '@strand/kafka-protocol';
import { handler } from '../handler.js';
import { callGroups, groupErrorCode, KAFKA_GROUP_STATE } from './groups-common.js';

interface RawSummary {
  group_id: string;
  state: string;
  generation: number;
  members: number;
  protocol_type: string;
}

/** Kafka's protocol type of a group: a Strand consumer group is a consumer group too. */
export const kafkaProtocolType = (g: {
  protocol_type: string;
  generation: number;
  members: number;
}) => g.protocol_type || (g.generation > 0 || g.members > 0 ? 'consumer' : '');

/** Every group, Kafka clients' and Strand consumers' alike (v4+ filter by state, v5+ by type). */
export const listGroups = handler(ListGroups, {
  // Every group with describe on the cluster, else those one may describe.
  authorization: { inHandler: true },
  async handle(req, ctx) {
    const lower = (xs: string[]) => new Set(xs.map((x) => x.toLowerCase()));
    const states = lower(req.statesFilter);
    const types = lower(req.typesFilter);
    try {
      const r = await callGroups<{ groups: RawSummary[] }>(ctx, 'ListGroups', {});
      const groups = r.groups
        .map((g) => ({
          groupId: g.group_id,
          protocolType: kafkaProtocolType(g),
          groupState: KAFKA_GROUP_STATE[g.state] ?? g.state,
          groupType: 'classic',
        }))
        .filter((g) => ctx.may(onResource('listGroups', 'group', g.groupId)))
        .filter((g) => states.size === 0 || states.has(g.groupState.toLowerCase()))
        .filter((g) => types.size === 0 || types.has(g.groupType));
      return { throttleTimeMs: 0, errorCode: KafkaError.NONE, groups };
    } catch (err) {
      return { throttleTimeMs: 0, errorCode: groupErrorCode(err), groups: [] };
    }
  },
});
