import { Admin, Producer } from '@strand/client';
import { ProcessRegistry } from '@strand/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTopicCluster, type TopicCluster } from '../cluster.test-util.js';
import { run, tool } from './client.test-util.js';

/** Debian's python3-kafka (kafka-python 2.0.2), unmodified: a produce/consume round trip. */

const PYTHON = '/usr/bin/python3';
const python = tool(PYTHON);
const registry = new ProcessRegistry();
let cluster: TopicCluster;

// Produces 100 records with keys and headers, then reads the partition back from the start
// with a group-less consumer and prints what it read, one JSON object per record.
const SCRIPT = `
import json, sys
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
bootstrap, topic, produce = sys.argv[1], sys.argv[2], sys.argv[3] == 'produce'
if produce:
    p = KafkaProducer(bootstrap_servers=bootstrap, acks='all')
    for i in range(100):
        p.send(topic, key=b'k%d' % i, value=b'v%d' % i, headers=[('n', str(i).encode())], timestamp_ms=1700000000000 + i)
    p.flush()
    p.close()
c = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=10000)
tp = TopicPartition(topic, 0)
c.assign([tp])
c.seek_to_beginning(tp)
want = int(sys.argv[4])
for m in c:
    print(json.dumps({'offset': m.offset, 'key': m.key.decode() if m.key else None, 'value': m.value.decode(), 'ts': m.timestamp, 'headers': [[k, v.decode()] for k, v in m.headers]}))
    want -= 1
    if want == 0:
        break
c.close()
`;

const records = (out: string) =>
  out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map(
      (l) =>
        JSON.parse(l) as {
          offset: number;
          key: string | null;
          value: string;
          ts: number;
          headers: string[][];
        },
    );

beforeAll(async () => {
  cluster = await startTopicCluster(registry, 1);
});

afterAll(async () => {
  await registry.stopAll();
  cluster?.cleanup();
});

describe.skipIf(!python.present)('kafka-python', () => {
  it('produces and consumes a round trip', async () => {
    const admin = new Admin({ bootstrap: cluster.bootstrap });
    await admin.createTopic({ name: 'py', partitions: 1 });
    await admin.close();
    const out = records(
      await run(PYTHON, ['-c', SCRIPT, cluster.bootstrap[0]!, 'py', 'produce', '100'], {
        timeoutMs: 60_000,
      }),
    );
    expect(out).toEqual(
      Array.from({ length: 100 }, (_, i) => ({
        offset: i,
        key: `k${i}`,
        value: `v${i}`,
        ts: 1_700_000_000_000 + i,
        headers: [['n', String(i)]],
      })),
    );
  });

  it('consumes what the SDK produced', async () => {
    const admin = new Admin({ bootstrap: cluster.bootstrap });
    await admin.createTopic({ name: 'py-sdk', partitions: 1 });
    await admin.close();
    const producer = new Producer({ bootstrap: cluster.bootstrap });
    await producer.sendBatch(
      Array.from({ length: 30 }, (_, i) => ({
        topic: 'py-sdk',
        key: `s${i}`,
        value: `w${i}`,
        headers: { n: String(i) },
        timestamp: 1_650_000_000_000 + i,
      })),
    );
    await producer.close();
    const out = records(
      await run(PYTHON, ['-c', SCRIPT, cluster.bootstrap[0]!, 'py-sdk', 'consume', '30'], {
        timeoutMs: 60_000,
      }),
    );
    expect(out.map((r) => [r.offset, r.key, r.value, r.ts, r.headers])).toEqual(
      Array.from({ length: 30 }, (_, i) => [
        i,
        `s${i}`,
        `w${i}`,
        1_650_000_000_000 + i,
        [['n', String(i)]],
      ]),
    );
  });
});
