// A KafkaJS 2.2.4 consumer group member in a process of its own (the e2e tests kill it with
// -9): one JSON line on stdout per group join and per record.
// Usage: node kafkajs-member.mjs BROKERS GROUP TOPIC auto|manual
import { Kafka, logLevel } from 'kafkajs';

const [brokers, groupId, topic, mode] = process.argv.slice(2);
const out = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
const kafka = new Kafka({
  clientId: `kafkajs-${process.pid}`,
  brokers: brokers.split(','),
  logLevel: logLevel.NOTHING,
  retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1000 },
});
const consumer = kafka.consumer({
  groupId,
  sessionTimeout: 6000,
  heartbeatInterval: 500,
  rebalanceTimeout: 10000,
  maxWaitTimeInMs: 200,
});
consumer.on(consumer.events.GROUP_JOIN, ({ payload }) =>
  out({ t: 'join', memberId: payload.memberId, assigned: payload.memberAssignment[topic] ?? [] }),
);
consumer.on(consumer.events.CRASH, ({ payload }) =>
  out({ t: 'crash', error: String(payload.error) }),
);
await consumer.connect();
await consumer.subscribe({ topics: [topic], fromBeginning: true });
await consumer.run({
  autoCommit: mode !== 'manual',
  autoCommitInterval: 200,
  eachMessage: async ({ partition, message }) => {
    if (mode === 'manual')
      await consumer.commitOffsets([
        { topic, partition, offset: String(Number(message.offset) + 1), metadata: 'manual' },
      ]);
    out({ t: 'msg', partition, offset: Number(message.offset), value: message.value.toString() });
  },
});
process.on('SIGTERM', () => void consumer.disconnect().then(() => process.exit(0)));
