import { Admin, Consumer, Producer } from '@strand/client';
import { ApiVersions, Metadata } from '@strand/kafka-protocol';
import {
  adminUrlOf,
  eventually,
  ProcessRegistry,
  readiness,
  type Scrape,
  scrapeMetrics,
} from '@strand/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTopicCluster, type TopicCluster } from './cluster.test-util.js';
import { RawKafkaClient } from './kafka/client.test-util.js';

// The admin port of real processes: what /metrics says moves as the cluster does (bytes in
// by what was produced, lag as log end minus committed, under-replicated partitions while a
// follower is down), and /readyz follows a broker's life.

const registry = new ProcessRegistry();
let cluster: TopicCluster;
let admin: Admin;
const TOPIC = 'metered';
const RECORDS = 500;
const VALUE = 'v'.repeat(100);

const brokerUrl = (id: number) => adminUrlOf(cluster.brokers.get(id)!.proc);
const coordinatorUrl = () => adminUrlOf(cluster.coordinators.get(1)!.proc);
const scrapeBrokers = async (ids = [1, 2, 3]) =>
  new Map(
    await Promise.all(ids.map(async (id) => [id, await scrapeMetrics(brokerUrl(id))] as const)),
  );
const total = (scrapes: Map<number, Scrape>, name: string, labels: Record<string, string> = {}) =>
  [...scrapes.values()].reduce((n, s) => n + s.sum(name, labels), 0);

beforeAll(async () => {
  cluster = await startTopicCluster(registry, 3, {
    admin: true,
    coordinatorArgs: ['--broker-session-timeout-ms', '2000', '--broker-heartbeat-ms', '300'],
    brokerArgs: ['--replica-lag-time-max-ms', '1500'],
  });
  admin = new Admin({ bootstrap: cluster.bootstrap });
}, 60_000);

afterAll(async () => {
  await admin?.close();
  await registry.stopAll();
  cluster?.cleanup();
});

describe('metrics and readiness on the admin port', () => {
  it('every broker and the coordinator are ready, and say so in JSON', async () => {
    for (const id of [1, 2, 3]) {
      const r = await eventually(`broker ${id} ready`, async () => {
        const x = await readiness(brokerUrl(id));
        return x.status === 200 ? x : undefined;
      });
      expect(r.body).toMatchObject({
        app: 'broker',
        id,
        ready: true,
        shuttingDown: false,
        checks: {
          shuttingDown: { ok: true },
          registered: { ok: true },
          unfenced: { ok: true },
          metadata: { ok: true },
        },
      });
    }
    const c = await readiness(coordinatorUrl());
    expect(c).toMatchObject({ status: 200, body: { app: 'coordinator', ready: true, leader: 1 } });
    // Tools find every broker's admin port through the cluster description.
    const { brokers } = await admin.describeCluster();
    expect(brokers.map((b) => b.adminUrl).sort()).toEqual([1, 2, 3].map(brokerUrl).sort());
  });

  it('counts what is produced, replicated and consumed, and the lag a group has left', async () => {
    await admin.createTopic({ name: TOPIC, partitions: 1, replicationFactor: 3 });
    const leader = await eventually('a full ISR', async () => {
      const p = (await admin.describeTopic(TOPIC)).partitions[0]!;
      return p.isr.length === 3 ? p.leader : undefined;
    });
    const before = await scrapeBrokers();

    const producer = new Producer({ bootstrap: cluster.bootstrap, lingerMs: 5 });
    await Promise.all(
      Array.from({ length: RECORDS }, (_, i) =>
        producer.send({ topic: TOPIC, key: `k${i}`, value: VALUE }),
      ),
    );
    await producer.close();

    const after = await eventually('every follower copied everything', async () => {
      const s = await scrapeBrokers();
      const sizes = [1, 2, 3].map((id) =>
        s.get(id)!.sum('strand_log_size_bytes', { topic: TOPIC }),
      );
      return sizes.every((n) => n > 0 && n === sizes[0]) ? s : undefined;
    });
    const t = { topic: TOPIC };
    const recordsIn =
      total(after, 'strand_broker_records_in_total', t) -
      total(before, 'strand_broker_records_in_total', t);
    const bytesIn =
      total(after, 'strand_broker_bytes_in_total', t) -
      total(before, 'strand_broker_bytes_in_total', t);
    expect(recordsIn).toBe(RECORDS);
    expect(bytesIn).toBeGreaterThan(RECORDS * VALUE.length);
    // A new topic's log holds exactly the bytes appended, on the leader and on each copy.
    const led = after.get(leader)!;
    expect(led.sum('strand_log_size_bytes', t)).toBe(bytesIn);
    expect(led.sum('strand_broker_bytes_out_total', { ...t, fetcher: 'follower' })).toBe(
      2 * bytesIn,
    );
    expect(led.sum('strand_broker_records_out_total', { ...t, fetcher: 'follower' })).toBe(
      2 * RECORDS,
    );
    expect(led.value('strand_broker_leader_partitions')).toBeGreaterThanOrEqual(1);
    expect(
      led.sum('strand_broker_produce_duration_seconds_count', { acks: 'all' }),
    ).toBeGreaterThan(
      before.get(leader)!.sum('strand_broker_produce_duration_seconds_count', { acks: 'all' }),
    );
    expect(total(after, 'strand_broker_under_replicated_partitions')).toBe(0);

    // A group reads part of it and commits where it stopped.
    const consumer = new Consumer({
      bootstrap: cluster.bootstrap,
      groupId: 'metered-group',
      autoCommit: false,
      autoOffsetReset: 'earliest',
      maxPollRecords: 50,
    });
    consumer.subscribe(TOPIC);
    let read = 0;
    while (read < 200) read += (await consumer.poll(500)).length;
    await consumer.commit();
    await consumer.close();

    const consumed = (await scrapeMetrics(brokerUrl(leader))).sum(
      'strand_broker_records_out_total',
      {
        ...t,
        fetcher: 'consumer',
      },
    );
    expect(consumed).toBeGreaterThanOrEqual(read);
    const group = await admin.describeGroup('metered-group');
    const committed = group.offsets.find((o) => o.topic === TOPIC)!.committed!;
    const [end] = await admin.listOffsets(TOPIC, 'latest');
    expect(committed).toBe(read);
    const c = await eventually('the group lag', async () => {
      const s = await scrapeMetrics(coordinatorUrl());
      return s.has('strand_group_lag') ? s : undefined;
    });
    const labels = { group: 'metered-group', topic: TOPIC };
    expect(c.value('strand_group_lag', labels)).toBe(end!.offset - committed);
    expect(c.value('strand_group_max_lag', labels)).toBe(end!.offset - committed);
    expect(c.value('strand_group_generation', { group: 'metered-group' })).toBeGreaterThanOrEqual(
      1,
    );
    expect(
      c.sum('strand_group_rebalances_total', { group: 'metered-group' }),
    ).toBeGreaterThanOrEqual(1);
    expect(c.value('strand_controller_brokers', { state: 'alive' })).toBe(3);
    expect(c.value('strand_controller_partitions')).toBe(1);
    expect(c.value('strand_raft_has_leader')).toBe(1);
    expect(c.value('strand_kv_keys')).toBeGreaterThan(0);
    expect(c.value('strand_kv_rows')).toBeGreaterThan(0); // the group's committed offsets
  });

  it('counts Kafka-protocol requests by API, their latency, errors by Kafka code and connections open', async () => {
    const url = brokerUrl(1);
    const before = await scrapeMetrics(url);
    const c = await RawKafkaClient.connect(cluster.brokers.get(1)!.address);
    const metadata = (topic: string) =>
      c.request(Metadata, 9, {
        topics: [{ name: topic }],
        allowAutoTopicCreation: false,
        includeClusterAuthorizedOperations: false,
        includeTopicAuthorizedOperations: false,
      });
    try {
      await c.request(ApiVersions, 3, { clientSoftwareName: 'raw', clientSoftwareVersion: '1' });
      expect((await metadata(TOPIC)).topics[0]!.errorCode).toBe(0);
      expect((await metadata('not-there')).topics[0]!.errorCode).toBe(3);
      const s = await scrapeMetrics(url);
      const delta = (name: string, labels: Record<string, string>) =>
        s.sum(name, labels) - before.sum(name, labels);
      expect(delta('strand_kafka_requests_total', { api: 'ApiVersions' })).toBe(1);
      expect(delta('strand_kafka_requests_total', { api: 'Metadata' })).toBe(2);
      expect(delta('strand_kafka_request_duration_seconds_count', { api: 'Metadata' })).toBe(2);
      expect(
        delta('strand_kafka_request_errors_total', {
          api: 'Metadata',
          code: 'UNKNOWN_TOPIC_OR_PARTITION',
        }),
      ).toBe(1);
      expect(delta('strand_kafka_request_errors_total', { api: 'ApiVersions' })).toBe(0);
      expect(s.value('strand_kafka_connections')).toBe(1);
      // An API it does not serve closes the connection: counted under one label, whatever the key.
      c.write(Buffer.from([0, 0, 0, 10, 0x7f, 0x00, 0, 0, 0, 0, 0, 1, 0xff, 0xff]));
      await c.closed;
    } finally {
      c.close();
    }
    const after = await eventually('the connection counted closed', async () => {
      const s = await scrapeMetrics(url);
      return s.value('strand_kafka_connections') === 0 ? s : undefined;
    });
    expect(
      after.sum('strand_kafka_request_errors_total', {
        api: 'unserved',
        code: 'CONNECTION_CLOSED',
      }),
    ).toBe(1);
    // Labels stay within the fixed set: APIs by name, codes by Kafka's names.
    for (const x of after.samples.filter((x) => x.name.startsWith('strand_kafka_request_errors')))
      expect(x.labels.code).toMatch(/^[A-Z_]+$/);
  });

  it('reports a partition under-replicated while a follower is down, and not once it is back', async () => {
    const p = (await admin.describeTopic(TOPIC)).partitions[0]!;
    const follower = p.replicas.find((b) => b !== p.leader)!;
    const shrinksBefore = (await scrapeMetrics(brokerUrl(p.leader))).sum(
      'strand_broker_isr_shrinks_total',
    );
    await cluster.brokers.get(follower)!.proc.kill9();

    const live = [1, 2, 3].filter((b) => b !== follower);
    await eventually('under-replicated = 1', async () => {
      const s = await scrapeBrokers(live);
      return total(s, 'strand_broker_under_replicated_partitions') === 1 || undefined;
    });
    await eventually('the controller sees it too, and the broker fenced', async () => {
      const s = await scrapeMetrics(coordinatorUrl());
      return (
        (s.value('strand_controller_under_replicated_partitions') === 1 &&
          s.value('strand_controller_brokers', { state: 'fenced' }) === 1) ||
        undefined
      );
    });
    // Whoever took the follower out of the ISR (the leader, or the controller fencing it), the
    // leader counts the shrink.
    await eventually('the leader counts the ISR shrink', async () => {
      const s = await scrapeMetrics(brokerUrl(p.leader));
      return s.sum('strand_broker_isr_shrinks_total') > shrinksBefore || undefined;
    });

    await cluster.startBroker(follower);
    await eventually(
      `broker ${follower} ready again`,
      async () => (await readiness(brokerUrl(follower))).status === 200 || undefined,
    );
    await eventually('under-replicated back to 0', async () => {
      const s = await scrapeBrokers();
      return total(s, 'strand_broker_under_replicated_partitions') === 0 || undefined;
    });
    const s = await scrapeBrokers();
    expect(total(s, 'strand_broker_isr_expands_total')).toBeGreaterThanOrEqual(1);
    expect(s.get(follower)!.value('strand_broker_registered')).toBe(1);
  });

  it('logs what happened as JSON records with the ids that matter, and refusals with their reason', async () => {
    await expect(admin.deleteTopic('no-such-topic')).rejects.toThrow(/no-such-topic/);
    const p = (await admin.describeTopic(TOPIC)).partitions[0]!;
    const leader = cluster.brokers.get(p.leader)!.proc;
    const coordinator = cluster.coordinators.get(1)!.proc;
    const find = (proc: typeof leader, msg: RegExp, fields: Record<string, unknown> = {}) =>
      eventually(`${proc.name} logs ${msg}`, () =>
        proc.records.find(
          (r) =>
            msg.test(String(r.msg)) &&
            Object.entries(fields).every(([k, v]) => JSON.stringify(r[k]) === JSON.stringify(v)),
        ),
      );

    // Every record: JSON with the time, the level, the app and its node id.
    expect(await find(leader, /^listening on/)).toMatchObject({
      app: 'broker',
      node: p.leader,
      level: 30,
      time: expect.any(Number),
      admin: brokerUrl(p.leader),
    });
    expect(await find(leader, /^leading$/, { topic: TOPIC, partition: 0 })).toMatchObject({
      epoch: expect.any(Number),
      isr: expect.any(Array),
    });
    expect(await find(leader, /^ISR (shrank|expanded)$/, { topic: TOPIC })).toMatchObject({
      partition: 0,
      isr: expect.any(Array),
      before: expect.any(Array),
    });
    const refused = await eventually('a refused request on some broker', () =>
      [1, 2, 3]
        .flatMap((id) => cluster.brokers.get(id)!.proc.records)
        .find((r) => r.msg === 'refused a request' && String(r.reason).includes('no-such-topic')),
    );
    expect(refused).toMatchObject({
      api: 'DeleteTopic',
      code: expect.stringMatching(/UNKNOWN_TOPIC/),
    });

    expect(await find(coordinator, /^elected Raft leader/)).toMatchObject({
      app: 'coordinator',
      node: 1,
      term: expect.any(Number),
    });
    expect(await find(coordinator, /^broker registered$/, { broker: p.leader })).toMatchObject({
      epoch: expect.any(Number),
    });
    expect(await find(coordinator, /^fenced a broker/)).toMatchObject({
      level: 40,
      broker: expect.any(Number),
      silentMs: expect.any(Number),
    });
    expect(await find(coordinator, /^group rebalanced$/, { group: 'metered-group' })).toMatchObject(
      {
        generation: expect.any(Number),
        members: 1,
      },
    );
  });

  // Last: it stops a broker, and holds the coordinator still meanwhile.
  it('a broker in a controlled shutdown (SIGTERM) answers /readyz not ready: shuttingDown', async () => {
    const broker = cluster.brokers.get(3)!.proc;
    const coordinator = cluster.coordinators.get(1)!.proc;
    const url = brokerUrl(3);
    expect((await readiness(url)).status).toBe(200);
    // With the controller held still, the shutdown waits for it: a window to look in.
    coordinator.pause();
    try {
      process.kill(broker.pid, 'SIGTERM');
      const r = await eventually('broker 3 to say it is shutting down', async () => {
        const x = await readiness(url);
        return x.body.shuttingDown === true ? x : undefined;
      });
      expect(r.status).toBe(503);
      expect(r.body).toMatchObject({
        ready: false,
        shuttingDown: true,
        checks: {
          shuttingDown: { ok: false, detail: expect.stringMatching(/controlled shutdown/) },
        },
      });
    } finally {
      coordinator.resume();
    }
    expect(await broker.exited).toBe(0);
  });
});
