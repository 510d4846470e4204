import {
  ErrorCode,
  NotLeaderError,
  OutOfOrderSequenceError,
  ProducerFencedError,
  UnavailableError,
} from '@strand/wire';
import { describe, expect, it } from 'vitest';
import { KAFKA_ERROR_FOR, KafkaError, kafkaErrorCode } from './errors.js';

describe('kafkaErrorCode', () => {
  it('maps every Strand error code, and the ones clients act on as Kafka does', () => {
    expect(Object.keys(KAFKA_ERROR_FOR).sort()).toEqual(Object.values(ErrorCode).sort());
    expect(kafkaErrorCode(new NotLeaderError(2, 'b:1'))).toBe(KafkaError.NOT_LEADER_OR_FOLLOWER);
    expect(kafkaErrorCode(new OutOfOrderSequenceError('x'))).toBe(45);
    expect(kafkaErrorCode(new ProducerFencedError('x'))).toBe(KafkaError.INVALID_PRODUCER_EPOCH);
  });

  it('takes per-request overrides, and anything unknown is UNKNOWN_SERVER_ERROR', () => {
    const group = { [ErrorCode.Unavailable]: KafkaError.COORDINATOR_NOT_AVAILABLE };
    expect(kafkaErrorCode(new UnavailableError('x'), group)).toBe(15);
    expect(kafkaErrorCode(new UnavailableError('x'))).toBe(KafkaError.LEADER_NOT_AVAILABLE);
    expect(kafkaErrorCode(new Error('boom'))).toBe(-1);
  });
});
