import { onResource } from '@strand/auth';
import { FindCoordinator, KafkaError } from '@strand/kafka-protocol';
import { kafkaEndpoint } from '../deps.js';
import { handler, type KafkaContext } from '../handler.js';

const GROUP_KEY = 0;

/**
 * The coordinator of every group is this broker: it forwards group requests to the group
 * coordinator on the coordinators' Raft leader, so any broker will do and none needs to move.
 * Transaction coordinators (key type 1) do not exist here.
 */
export const findCoordinator = handler(FindCoordinator, {
  // Describe on each group asked about.
  authorization: { inHandler: true },
  async handle(req, ctx) {
    if (ctx.header.apiVersion >= 4)
      return {
        throttleTimeMs: 0,
        coordinators: req.coordinatorKeys.map((key) => ({
          key,
          ...coordinatorFor(ctx, req.keyType, key),
        })),
      };
    return { throttleTimeMs: 0, ...coordinatorFor(ctx, req.keyType, req.key) };
  },
});

function coordinatorFor(ctx: KafkaContext, keyType: number, key: string) {
  const self = ctx.deps.meta.brokers.get(ctx.deps.brokerId);
  const none = (errorMessage: string) => ({
    errorCode: KafkaError.COORDINATOR_NOT_AVAILABLE,
    errorMessage,
    nodeId: -1,
    host: '',
    port: -1,
  });
  if (keyType !== GROUP_KEY) return none('transactions are not supported');
  if (!ctx.may(onResource('findCoordinator', 'group', key), true))
    return {
      ...none(`may not describe group "${key}"`),
      errorCode: KafkaError.GROUP_AUTHORIZATION_FAILED,
    };
  if (!self) return none('this broker has not registered yet');
  return {
    errorCode: KafkaError.NONE,
    errorMessage: null,
    nodeId: self.id,
    ...kafkaEndpoint(self),
  };
}
