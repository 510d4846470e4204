import { join } from 'node:path';
import { Admin, KvClient, Producer } from '@strand/client';
import { PartitionLog } from '@strand/log';
import { ProcessRegistry, prng } from '@strand/testkit';
import { decodeBatches } from '@strand/wire';
import { afterAll, describe, expect, it } from 'vitest';
import { startTopicCluster, type TopicCluster } from './cluster.test-util.js';

/**
 * Replication under faults, with real processes: 3 coordinators and 3 brokers, a topic with
 * 3 replicas and min.insync.replicas 2, idempotent producers with acks=all, and a nemesis
 * that kills -9 (or now and then stops cleanly) and restarts brokers, pauses them (SIGSTOP/SIGCONT), cuts them off the network
 * (every connection goes through a fault-injecting proxy) and kills the coordinators' leader. Afterwards every replica's log is read from disk and checked.
 * STRAND_CHAOS_SECONDS runs longer (default 12); STRAND_CHAOS_SEED replays a schedule;
 * STRAND_CHAOS_VERBOSE=1 prints progress every second and, when acknowledgements stall for 8 s,
 * the last lines of every process.
 */
const SECONDS = Number(process.env.STRAND_CHAOS_SECONDS ?? 12);
const SEED = Number(process.env.STRAND_CHAOS_SEED ?? Date.now() % 100_000);
const PARTITIONS = 3;
const PRODUCERS = 3;
const KEYS = 5;

const registry = new ProcessRegistry();
let cluster: TopicCluster | undefined;

afterAll(async () => {
  await registry.stopAll();
  cluster?.cleanup();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Acked {
  partition: number;
  offset: number;
}

describe('chaos: replicated topic under kill -9, pauses and controller failover', () => {
  it(`loses no acknowledged record and writes none twice (seed ${SEED}, ${SECONDS} s)`, async () => {
    const c = await startTopicCluster(registry, 3, {
      coordinators: 3,
      coordinatorArgs: ['--broker-session-timeout-ms', '2000', '--broker-heartbeat-ms', '200'],
      brokerArgs: ['--replica-lag-time-max-ms', '2000', '--flush', 'os'],
      proxied: true,
    });
    cluster = c;
    const admin = new Admin({ bootstrap: c.bootstrap, requestTimeoutMs: 5000 });
    await admin.createTopic({
      name: 'chaos',
      partitions: PARTITIONS,
      replicationFactor: 3,
      configs: { 'min.insync.replicas': '2' },
    });

    const acked = new Map<string, Acked>();
    let failed = 0;
    let stop = false;
    const producing = Array.from({ length: PRODUCERS }, async (_, p) => {
      const producer = new Producer({
        bootstrap: c.bootstrap,
        acks: 'all',
        requestTimeoutMs: 3000,
        retries: 1000,
        deliveryTimeoutMs: 120_000,
        lingerMs: 2,
      });
      const inFlight = new Set<Promise<void>>();
      for (let seq = 0; !stop; seq++) {
        const value = `p${p}-${seq}`;
        const send = producer.send({ topic: 'chaos', key: `p${p}-k${seq % KEYS}`, value }).then(
          (m) => void acked.set(value, { partition: m.partition, offset: m.offset }),
          () => {
            failed += 1;
          },
        );
        inFlight.add(send);
        void send.finally(() => inFlight.delete(send));
        if (inFlight.size >= 64) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
      await producer.close();
    });

    // The nemesis: one fault at a time, every fault healed before the next.
    const random = prng(SEED);
    const faults: string[] = [];
    const deadline = Date.now() + SECONDS * 1000;
    const kv = new KvClient({ bootstrap: c.coordinator.split(','), timeoutMs: 2000 });
    const started = Date.now();
    let lastAcked = 0;
    let stalledFor = 0;
    const progress = setInterval(() => {
      stalledFor = acked.size === lastAcked ? stalledFor + 1 : 0;
      lastAcked = acked.size;
      if (process.env.STRAND_CHAOS_VERBOSE && stalledFor === 8)
        for (const [id, b] of [...c.brokers, ...c.coordinators])
          console.log(`STALL process ${id}:\n${b.proc.lines.slice(-25).join('\n')}`);
      if (process.env.STRAND_CHAOS_VERBOSE)
        console.log(
          `${Date.now() - started} ms: ${acked.size} acked, ${failed} failed, faults ${faults.join('; ')}`,
        );
    }, 1000);
    while (Date.now() < deadline) {
      await sleep(500 + random() * 1000);
      const roll = random();
      const broker = 1 + Math.floor(random() * 3);
      if (roll < 0.3) {
        // Mostly kill -9; now and then a clean stop (which restarts from saved state).
        const clean = roll >= 0.22;
        faults.push(`${clean ? 'stop (SIGTERM)' : 'kill -9'} broker ${broker}`);
        const proc = c.brokers.get(broker)!.proc;
        await (clean ? proc.terminate() : proc.kill9());
        await sleep(500 + random() * 1500);
        await c.startBroker(broker);
      } else if (roll < 0.5) {
        faults.push(`isolate broker ${broker}`);
        c.isolateBroker(broker);
        await sleep(500 + random() * 2500);
        c.healBroker(broker);
      } else if (roll < 0.75) {
        faults.push(`pause broker ${broker}`);
        const proc = c.brokers.get(broker)!.proc;
        proc.pause();
        await sleep(500 + random() * 2500);
        proc.resume();
      } else {
        const leader = (await kv.members().catch(() => undefined))?.leaderId;
        if (!leader) continue;
        faults.push(`kill -9 coordinator ${leader} (the controller)`);
        await c.coordinators.get(leader)!.proc.kill9();
        await sleep(500 + random() * 1500);
        await c.startCoordinator(leader);
      }
    }
    stop = true;
    await Promise.all(producing);
    clearInterval(progress);
    kv.close();

    // Heal: every replica back in sync, the high watermark at every log end.
    const settle = Date.now() + 60_000;
    for (;;) {
      const t = await admin.describeTopic('chaos').catch(() => undefined);
      const synced = t?.partitions.every((p) => p.isr.length === 3 && p.leader > 0);
      if (synced) break;
      if (Date.now() > settle)
        throw new Error(`replicas never caught up: ${JSON.stringify(t?.partitions)}`);
      await sleep(250);
    }
    await sleep(1500);
    await admin.close();
    console.log(`faults: ${faults.join(', ')}`);
    await registry.stopAll();

    // Read every replica's log from disk.
    const logs = new Map<
      number,
      { offset: number; value: string; key: string; batch: string }[][]
    >();
    for (const b of [1, 2, 3]) {
      const perPartition: { offset: number; value: string; key: string; batch: string }[][] = [];
      for (let p = 0; p < PARTITIONS; p++) {
        const log = await PartitionLog.open(join(c.logDir(b), `chaos-${p}`));
        const records: { offset: number; value: string; key: string; batch: string }[] = [];
        let offset = log.logStartOffset;
        while (offset < log.logEndOffset) {
          const { records: raw } = await log.read(offset, 1 << 20);
          for (const batch of decodeBatches(raw))
            for (const r of batch.records) {
              records.push({
                offset: r.offset,
                value: r.value!.toString(),
                key: r.key!.toString(),
                batch: `pid ${batch.header.producerId} seq ${batch.header.baseSequence} epoch ${batch.header.partitionLeaderEpoch} base ${batch.header.baseOffset}`,
              });
              offset = r.offset + 1;
            }
        }
        await log.close();
        perPartition.push(records);
      }
      logs.set(b, perPartition);
    }

    let lost = 0;
    let duplicated = 0;
    const disordered = 0;
    for (let p = 0; p < PARTITIONS; p++) {
      const leaderCopy = logs.get(1)![p]!;
      // Identical on every replica, and offsets dense from 0.
      for (const b of [2, 3]) expect(logs.get(b)![p]).toEqual(leaderCopy);
      leaderCopy.forEach((r, i) => {
        expect(r.offset).toBe(i);
      });
      // Exactly once, and in produce order per key.
      const seen = new Set<string>();
      const lastSeq = new Map<string, number>();
      for (const r of leaderCopy) {
        if (seen.has(r.value)) {
          duplicated += 1;
          const copies = leaderCopy
            .filter((x) => x.value === r.value)
            .map((x) => `${x.offset} (${x.batch})`);
          console.log(`duplicate ${r.value} in partition ${p} at offsets ${copies}`);
          for (const [id, b] of c.brokers)
            console.log(
              `broker ${id}:\n${b.proc.lines.filter((l) => l.includes(`chaos-${p}`)).join('\n')}`,
            );
        }
        seen.add(r.value);
        const seq = Number(r.value.split('-')[1]);
        if (seq <= (lastSeq.get(r.key) ?? -1)) {
          const around = leaderCopy.filter(
            (x) => x.key === r.key && Math.abs(x.offset - r.offset) < 400,
          );
          console.log(
            `out of order in partition ${p} at ${r.offset}: ${JSON.stringify(around.slice(-12))}`,
          );
        }
        expect(seq).toBeGreaterThan(lastSeq.get(r.key) ?? -1);
        lastSeq.set(r.key, seq);
      }
    }
    const lostOnes: string[] = [];
    for (const [value, at] of acked) {
      const r = logs.get(1)![at.partition]![at.offset];
      if (r?.value === value) continue;
      lost += 1;
      const found = logs.get(1)![at.partition]!.find((x) => x.value === value);
      lostOnes.push(
        `${value} acked at ${at.partition}/${at.offset}, there ${r ? `${r.value} (${r.batch})` : 'nothing'}, found ${found ? `at ${found.offset} (${found.batch})` : 'nowhere'}`,
      );
    }
    if (lostOnes.length > 0) {
      console.log(`lost:\n${lostOnes.slice(0, 20).join('\n')}`);
      const partitions = new Set([...acked.values()].map((a) => a.partition));
      for (const [id, b] of c.brokers)
        console.log(
          `broker ${id}:\n${b.proc.lines.filter((l) => [...partitions].some((p) => l.includes(`chaos-${p}`))).join('\n')}`,
        );
    }
    console.log(
      `chaos (seed ${SEED}): ${acked.size} acknowledged, ${failed} failed to send, ${lost} lost, ${duplicated} duplicated, ${disordered} out of order; ${faults.length} faults: ${faults.join(', ')}`,
    );
    expect(acked.size).toBeGreaterThan(1000);
    expect(faults.length).toBeGreaterThan(2);
    expect(lost).toBe(0);
    expect(duplicated).toBe(0);
    expect(disordered).toBe(0);
  }, 180_000);
});
