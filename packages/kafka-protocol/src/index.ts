// @strand/kafka-protocol — Kafka's wire protocol, pure: no sockets, no files.

// One declarative description per API (fields, versions, nullable versions, tags)
export * from './apis/index.js';
export {
  type ApiDef,
  type FieldDef,
  type Input,
  inVersions,
  parseVersions,
  type RequestOf,
  type ResponseOf,
} from './schema.js';

// The one encoder/decoder for whole requests and responses (classic and flexible encodings)
export {
  decodeRequest,
  decodeRequestHeader,
  decodeResponse,
  describes,
  encodeRequest,
  encodeResponse,
  isFlexible,
  type RequestHeader,
} from './frame.js';
export { concat } from './io.js';

// Errors: malformed input, and the one mapping of Strand's error codes to Kafka's
export { KafkaProtocolError } from './protocol-error.js';
export {
  KAFKA_ERROR_FOR,
  KafkaError,
  type KafkaErrorCode,
  kafkaErrorCode,
  kafkaErrorMessage,
} from './errors.js';
