import { KAFKA_ERROR_FOR, KafkaError, type KafkaErrorCode } from '@strand/kafka-protocol';
import type { ErrorCode, ErrorFields } from '@strand/wire';

/** The Kafka code for an error the data plane reported as fields (per partition). */
export function kafkaCodeOf(e: ErrorFields): KafkaErrorCode {
  return KAFKA_ERROR_FOR[e.code as ErrorCode] ?? KafkaError.UNKNOWN_SERVER_ERROR;
}
