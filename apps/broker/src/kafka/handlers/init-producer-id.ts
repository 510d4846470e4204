import { onCluster } from '@strand/auth';
import { InitProducerId, KafkaError, kafkaErrorCode } from '@strand/kafka-protocol';
import { ErrorCode } from '@strand/wire';
import { handler } from '../handler.js';

/**
 * A producer id for an idempotent producer, from the controller (the same source as the
 * SDK's). A producer asking to bump its epoch (v3+) simply gets a new id. Transactional ids
 * are refused: transactions are not supported.
 */
export const initProducerId = handler(InitProducerId, {
  // Idempotent-write on the cluster, or write on some topic (KIP-679).
  authorization: {
    whole: () => [onCluster('initProducerId')],
    refuse: (_req, errorCode) => ({ errorCode, producerId: -1, producerEpoch: -1 }),
  },
  async handle(req, { deps }) {
    if (req.transactionalId !== null)
      return {
        throttleTimeMs: 0,
        errorCode: KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
        producerId: -1,
        producerEpoch: -1,
      };
    try {
      const r = await deps.controller.call<{ producer_id: number; producer_epoch: number }>(
        'InitProducerId',
        {},
        { attempts: 8 },
      );
      return {
        throttleTimeMs: 0,
        errorCode: 0,
        producerId: Number(r.producer_id),
        producerEpoch: r.producer_epoch,
      };
    } catch (err) {
      const errorCode = kafkaErrorCode(err, {
        [ErrorCode.Unavailable]: KafkaError.COORDINATOR_NOT_AVAILABLE,
      });
      return { throttleTimeMs: 0, errorCode, producerId: -1, producerEpoch: -1 };
    }
  },
});
