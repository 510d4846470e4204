import { InvalidRequestError } from '@strand/wire';

/** Bytes that do not form a valid Kafka message: truncated, a forged length, a null where none may be. */
export class KafkaProtocolError extends InvalidRequestError {}
