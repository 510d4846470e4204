import { createRequire } from 'node:module';
import { compressFrameSync, decompressFrameSync } from 'lz4-napi';
import { compressSync, uncompressSync } from 'snappy';

const require = createRequire(import.meta.url);

/** KafkaJS 2.2.4, unmodified (CommonJS). */
export const kafkajs = require('kafkajs') as typeof import('kafkajs');

/**
 * KafkaJS ships gzip only; snappy and LZ4 are plugins. These are the two-line adapters over the
 * bindings @strand/wire already uses (raw snappy blocks, LZ4 frames, as KafkaJS's own plugins
 * write them).
 */
export function registerCodecs(): void {
  const { CompressionCodecs, CompressionTypes } = kafkajs;
  CompressionCodecs[CompressionTypes.Snappy] = () => ({
    compress: async (encoder: { buffer: Buffer }) => compressSync(encoder.buffer),
    decompress: async (buffer: Buffer) => uncompressSync(buffer) as Buffer,
  });
  CompressionCodecs[CompressionTypes.LZ4] = () => ({
    compress: async (encoder: { buffer: Buffer }) => compressFrameSync(encoder.buffer),
    decompress: async (buffer: Buffer) => decompressFrameSync(buffer),
  });
}

export interface KafkaJsMessage {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  timestamp: string;
  headers: Record<string, Buffer>;
}

interface KafkaJsBroker {
  fetch(req: unknown): Promise<{
    responses: { partitions: { errorCode: number; messages: KafkaJsMessage[] }[] }[];
  }>;
}

interface KafkaJsCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  refreshMetadata(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
  findBroker(b: { nodeId: string }): Promise<KafkaJsBroker>;
}

/**
 * KafkaJS's own fetch path (the Broker.fetch its consumer calls, with its decoders) for one
 * partition, without a consumer group: KafkaJS has no group-less consumer.
 */
export async function kafkajsRead(
  kafka: InstanceType<typeof kafkajs.Kafka>,
  topic: string,
  partition: number,
  count: number,
  timeoutMs = 30_000,
): Promise<KafkaJsMessage[]> {
  const create = Object.getOwnPropertySymbols(kafka).find(
    (s) => s.description === 'private:Kafka:createCluster',
  )!;
  const cluster = (kafka as unknown as Record<symbol, (o: object) => KafkaJsCluster>)[create]!({});
  await cluster.connect();
  try {
    await cluster.addTargetTopic(topic);
    await cluster.refreshMetadata();
    const leaders = cluster.findLeaderForPartitions(topic, [partition]);
    const leader = Object.keys(leaders)[0]!;
    const broker = await cluster.findBroker({ nodeId: leader });
    const out: KafkaJsMessage[] = [];
    let offset = 0;
    const deadline = Date.now() + timeoutMs;
    while (out.length < count && Date.now() < deadline) {
      const res = await broker.fetch({
        replicaId: -1,
        maxWaitTime: 200,
        minBytes: 1,
        maxBytes: 10 * 1024 * 1024,
        topics: [
          {
            topic,
            partitions: [{ partition, fetchOffset: String(offset), maxBytes: 1024 * 1024 }],
          },
        ],
      });
      const p = res.responses[0]!.partitions[0]!;
      if (p.errorCode !== 0) throw new Error(`KafkaJS fetch: error ${p.errorCode}`);
      for (const m of p.messages) {
        if (Number(m.offset) < offset) continue; // a batch starts before the offset asked
        out.push(m);
        offset = Number(m.offset) + 1;
      }
    }
    return out;
  } finally {
    await cluster.disconnect();
  }
}
