import { KafkaError, Produce, type ResponseOf } from '@strand/kafka-protocol';
import { type ErrorFields, isControl, isTransactional, splitBatches } from '@strand/wire';
import { CLOSE_CONNECTION, handler, NO_RESPONSE } from '../handler.js';
import { kafkaCodeOf } from './errors.js';

type PartitionOut = ResponseOf<typeof Produce>['responses'][number]['partitionResponses'][number];

/**
 * Produce v3+: exactly one v2 RecordBatch per partition, appended as it came (the broker sets
 * only the base offset and leader epoch, outside the CRC). The idempotence and acks rules are
 * the data plane's, the same as on the gRPC side. acks=0 gets no answer at all; if something
 * failed, the connection is closed instead, which is how Kafka tells such a producer.
 */
export const produce = handler(Produce, {
  authorization: {
    topics: {
      kind: 'produce',
      request: { list: 'topicData', name: 'name', partitions: 'partitionData', index: 'index' },
      response: {
        list: 'responses',
        name: 'name',
        partitions: 'partitionResponses',
        index: 'index',
      },
      refused: { baseOffset: -1, logStartOffset: -1 },
    },
  },
  async handle(req, { deps }) {
    const acks = req.acks;
    const refused = (errorCode: number, errorMessage: string) => ({
      responses: req.topicData.map((t) => ({
        name: t.name,
        partitionResponses: t.partitionData.map((p) => ({
          index: p.index,
          errorCode,
          errorMessage,
        })),
      })),
      throttleTimeMs: 0,
    });
    if (acks !== 0 && acks !== 1 && acks !== -1)
      return refused(KafkaError.INVALID_REQUIRED_ACKS, `acks must be 0, 1 or -1, not ${acks}`);
    if (req.transactionalId !== null) {
      if (acks === 0) return CLOSE_CONNECTION;
      return refused(
        KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
        'transactions are not supported',
      );
    }
    const checked: {
      topic: string;
      index: number;
      records: Buffer | null;
      error?: Partial<PartitionOut>;
    }[] = [];
    for (const t of req.topicData)
      for (const p of t.partitionData) {
        const problem = checkRecords(p.records);
        checked.push({
          topic: t.name,
          index: p.index,
          records: p.records,
          ...(problem ? { error: refusal(p.index, KafkaError.INVALID_RECORD, problem) } : {}),
        });
      }
    const toWrite = checked.filter((c) => !c.error);
    const written =
      toWrite.length === 0
        ? []
        : await deps.data.produce({
            id: 0,
            acks,
            timeout_ms: Math.max(0, req.timeoutMs),
            partitions: toWrite.map((c) => ({
              topic: c.topic,
              partition: c.index,
              records: c.records!,
            })),
          });
    const results = new Map<string, Partial<PartitionOut>>();
    for (const c of checked) if (c.error) results.set(`${c.topic}/${c.index}`, c.error);
    written.forEach((r, i) => {
      const c = toWrite[i]!;
      results.set(
        `${c.topic}/${c.index}`,
        partitionOut(c.index, r.base_offset, r.log_start_offset, r.error),
      );
    });
    if (acks === 0)
      return checked.some((c) => c.error) || written.some((r) => r.error)
        ? CLOSE_CONNECTION
        : NO_RESPONSE;
    return {
      responses: req.topicData.map((t) => ({
        name: t.name,
        partitionResponses: t.partitionData.map((p) => results.get(`${t.name}/${p.index}`)!),
      })),
      throttleTimeMs: 0,
    };
  },
});

function refusal(index: number, errorCode: number, errorMessage: string): Partial<PartitionOut> {
  return { index, errorCode, errorMessage, baseOffset: -1, logStartOffset: -1 };
}

/** Why these records are not one v2 batch (undefined when they are). */
function checkRecords(records: Buffer | null): string | undefined {
  if (records === null || records.length === 0) return 'no records';
  try {
    const batches = splitBatches(records, false);
    if (batches.length !== 1) return `${batches.length} record batches where Produce v3+ takes one`;
    const h = batches[0]!.header;
    if (isTransactional(h) || isControl(h)) return 'transactional batches are not supported';
  } catch (err) {
    return (err as Error).message;
  }
  return undefined;
}

function partitionOut(
  index: number,
  baseOffset: number,
  logStartOffset: number,
  error?: ErrorFields,
): PartitionOut {
  return {
    index,
    errorCode: error ? kafkaCodeOf(error) : 0,
    baseOffset: error ? -1 : baseOffset,
    logAppendTimeMs: -1,
    logStartOffset: error ? -1 : logStartOffset,
    recordErrors: [],
    errorMessage: error?.message ?? null,
  };
}
