import { DescribeCluster, KafkaError } from '@strand/kafka-protocol';
import { kafkaEndpoint } from '../deps.js';
import { handler } from '../handler.js';

/** Brokers endpoint type in DescribeCluster v1 (KIP-919); controllers are not served. */
const BROKERS = 1;

/** Every live broker; this broker stands for the controller, as in Metadata. */
export const describeCluster = handler(DescribeCluster, {
  authorization: { open: true },
  async handle(req, { deps }) {
    if (req.endpointType !== BROKERS)
      return {
        throttleTimeMs: 0,
        errorCode: KafkaError.INVALID_REQUEST,
        errorMessage: `endpoint type ${req.endpointType} is not served (brokers are: 1)`,
        endpointType: req.endpointType,
        clusterId: deps.clusterId,
        controllerId: -1,
        brokers: [],
      };
    return {
      throttleTimeMs: 0,
      errorCode: 0,
      errorMessage: null,
      endpointType: BROKERS,
      clusterId: deps.clusterId,
      controllerId: deps.brokerId,
      brokers: [...deps.meta.brokers.values()]
        .filter((b) => !b.fenced)
        .sort((a, b) => a.id - b.id)
        .map((b) => ({ brokerId: b.id, ...kafkaEndpoint(b), rack: b.rack || null })),
    };
  },
});
