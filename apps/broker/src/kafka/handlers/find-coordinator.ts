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
  async handle(req, ctx) {
    if (ctx.header.apiVersion >= 4)
      return {
        throttleTimeMs: 0,
        coordinators: req.coordinatorKeys.map((key) => ({
          key,
          ...coordinatorFor(ctx, req.keyType),
        })),
      };
    return { throttleTimeMs: 0, ...coordinatorFor(ctx, req.keyType) };
  },
});

function coordinatorFor(ctx: KafkaContext, keyType: number) {
  const self = ctx.deps.meta.brokers.get(ctx.deps.brokerId);
  const none = (errorMessage: string) => ({
    errorCode: KafkaError.COORDINATOR_NOT_AVAILABLE,
    errorMessage,
    nodeId: -1,
    host: '',
    port: -1,
  });
  if (keyType !== GROUP_KEY) return none('transactions are not supported');
  if (!self) return none('this broker has not registered yet');
  return {
    errorCode: KafkaError.NONE,
    errorMessage: null,
    nodeId: self.id,
    ...kafkaEndpoint(self),
  };
}
