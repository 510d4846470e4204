import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Admin, KvClient } from '@strand/client';
import {
  type Acked,
  byKey,
  checkLinearizability,
  eventually,
  kvModel,
  type LoadResult,
  netbedSkipReason,
  ProcessRegistry,
  prng,
  tempDir,
} from '@strand/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { type NetnsCluster, startNetnsCluster } from './netns-cluster.test-util.js';
import { checkReplicas, type ReplicaRecord, readReplica } from './replicas.test-util.js';

/**
 * The chaos checker over real network faults: 3 coordinators and 3 brokers on hosts of their
 * own (network namespaces), a client host running acks=all producers and KV clients, and a
 * nemesis that works through partitions (two-way and one-way, of brokers, of the coordinators'
 * leader, of the client), random loss and duplication, a slow link, netem delay and reordering
 * where the kernel has it, kill -9, SIGSTOP/SIGCONT and clean restarts, one at a time. Then:
 * every acknowledged record on every replica, once, at identical offsets; the KV history
 * linearizable. STRAND_CHAOS_SEED replays the choices of which node.
 */
const SEED = Number(process.env.STRAND_CHAOS_SEED ?? Date.now() % 100_000);
const TOPIC = 'netchaos';
const PARTITIONS = 3;
const FAULT_MS = 2500;

const skip = netbedSkipReason();
const registry = new ProcessRegistry();
const work = tempDir('strand-netchaos-');
let cluster: NetnsCluster | undefined;
afterAll(async () => {
  await cluster?.close();
  work.cleanup();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(skip)('chaos over network faults between hosts (network namespaces)', () => {
  it(`loses no acknowledged record, writes none twice, keeps the KV store linearizable (seed ${SEED})`, async () => {
    cluster = await startNetnsCluster(registry, {
      coordinators: 3,
      brokers: 3,
      coordinatorArgs: ['--broker-session-timeout-ms', '2000', '--broker-heartbeat-ms', '200'],
      brokerArgs: ['--replica-lag-time-max-ms', '2000', '--flush', 'os'],
    });
    const c = cluster;
    const { bed } = c;
    const admin = new Admin({ bootstrap: c.bootstrap, requestTimeoutMs: 5000 });
    await admin.createTopic({
      name: TOPIC,
      partitions: PARTITIONS,
      replicationFactor: 3,
      configs: { 'min.insync.replicas': '2' },
    });
    const kv = new KvClient({ bootstrap: c.coordinatorAddresses, timeoutMs: 2000 });
    const out = join(work.path, 'load.json');
    const load = registry.spawnNode(
      new URL(import.meta.resolve('@strand/testkit/workload')).pathname,
      {
        name: 'client',
        netns: bed.host('client').ns,
        args: [
          JSON.stringify({
            job: 'load',
            bootstrap: c.bootstrap,
            coordinators: c.coordinatorAddresses,
            topic: TOPIC,
            producers: 3,
            keys: 5,
            kvClients: 3,
            kvKeys: ['k1', 'k2', 'k3'],
            out,
          }),
        ],
      },
    );
    await load.waitFor(/load started/);

    const random = prng(SEED);
    const brokers = [1, 2, 3];
    const pick = <T>(xs: T[]): T => xs[Math.floor(random() * xs.length)]!;
    const broker = () => pick(brokers);
    const others = (host: string) => bed.plan.hosts.map((h) => h.name).filter((h) => h !== host);
    /** The leader now (undefined when nobody could say); `pick…` falls back to a random one. */
    const leaderOf = async (partition: number) =>
      (await admin.describeTopic(TOPIC).catch(() => undefined))?.partitions[partition]?.leader;
    const coordinatorLeader = async () => (await kv.members().catch(() => undefined))?.leaderId;
    const pickLeader = async (partition: number) => (await leaderOf(partition)) || broker();
    const pickCoordinatorLeader = async () => (await coordinatorLeader()) || pick([1, 2, 3]);
    const applied: string[] = [];
    const unavailable: string[] = [];
    /** Applies a fault, waits for the cluster to show it (`shows`) and FAULT_MS, then undoes it. */
    const hold = async (
      what: string,
      apply: () => void | Promise<void>,
      undo: () => void | Promise<void>,
      shows?: () => Promise<boolean>,
    ) => {
      applied.push(what);
      await apply();
      if (shows) await eventually(what, async () => (await shows()) || undefined, 20_000);
      await sleep(FAULT_MS);
      await undo();
      await sleep(1500);
    };
    const heal = () => bed.heal();

    await sleep(2000);
    const x = `b${await pickLeader(0)}`;
    // The partitions are real: the controller moves the isolated broker's leadership away...
    await hold(
      `isolate ${x} (leader of partition 0)`,
      () => bed.isolate(x),
      heal,
      async () => {
        const now = await leaderOf(0);
        return now !== undefined && now > 0 && `b${now}` !== x;
      },
    );
    const y = `b${broker()}`;
    await hold(
      `${y} cannot send (one way: its packets to every host dropped)`,
      () => bed.partition([y], others(y), { oneWay: true }),
      heal,
    );
    const z = `b${broker()}`;
    await hold(
      `${z} cannot hear (one way: every host's packets to it dropped)`,
      () => bed.partition(others(z), [z], { oneWay: true }),
      heal,
    );
    const cl = `c${await pickCoordinatorLeader()}`;
    const cs = [1, 2, 3].map((i) => `c${i}`).filter((h) => h !== cl);
    await hold(
      `coordinators' leader ${cl} cut off from ${cs.join(', ')}`,
      () => bed.partition([cl], cs),
      heal,
    );
    const lossy = `b${await pickLeader(1)}`;
    const dup = `b${broker()}`;
    await hold(
      `10% loss into ${lossy}, 10% duplication out of ${dup}`,
      () => {
        bed.loss(lossy, 0.1);
        bed.duplicate(dup, 0.1);
      },
      heal,
    );
    const slow = `b${await pickLeader(2)}`;
    await hold(
      `${slow} on a 1 Mbit/s link`,
      () => bed.throttle(slow, 1000),
      () => bed.clearQdisc(slow),
    );
    const late = `b${broker()}`;
    if (bed.capabilities.netem)
      await hold(
        `netem on ${late}: 40 ms ± 20 ms, 25% reordered`,
        () => bed.netem(late, { delayMs: 40, jitterMs: 20, reorderPercent: 25 }),
        () => bed.clearQdisc(late),
      );
    else unavailable.push('netem delay and reordering (this kernel has no sch_netem)');
    const killed = await pickLeader(0);
    applied.push(`kill -9 broker ${killed}`);
    await c.brokers.get(killed)!.kill9();
    await sleep(1500);
    await c.startBroker(killed);
    await sleep(1500);
    const paused = broker();
    await hold(
      `SIGSTOP broker ${paused}`,
      () => c.brokers.get(paused)!.pause(),
      () => c.brokers.get(paused)!.resume(),
    );
    const leader = await pickCoordinatorLeader();
    applied.push(`kill -9 coordinator ${leader} (the leader)`);
    await c.coordinators.get(leader)!.kill9();
    await sleep(1500);
    await c.startCoordinator(leader);
    await sleep(1500);
    const restarted = broker();
    applied.push(`clean restart (SIGTERM) of broker ${restarted}`);
    await c.brokers.get(restarted)!.terminate(30_000);
    await c.startBroker(restarted);
    await sleep(1500);
    const cut = `b${await pickLeader(1)}`;
    await hold(
      `client's packets to ${cut} dropped (one way)`,
      () => bed.partition(['client'], [cut], { oneWay: true }),
      heal,
    );

    // Stop the load (the client makes its final linearizable reads), then let replicas catch up.
    process.kill(load.pid, 'SIGTERM');
    expect(await load.exited).toBe(0);
    const result = JSON.parse(readFileSync(out, 'utf8')) as LoadResult;
    const settle = Date.now() + 60_000;
    for (;;) {
      const t = await admin.describeTopic(TOPIC).catch(() => undefined);
      if (t?.partitions.every((p) => p.isr.length === 3 && p.leader > 0)) break;
      if (Date.now() > settle)
        throw new Error(`replicas never caught up: ${JSON.stringify(t?.partitions)}`);
      await sleep(250);
    }
    await sleep(1500);
    await admin.close();
    kv.close();
    await registry.stopAll();

    const acked = new Map<string, Acked>(
      result.acked.map(([v, partition, offset]) => [v, { partition, offset }]),
    );
    const replicas = new Map<number, ReplicaRecord[][]>();
    for (const b of brokers) replicas.set(b, await readReplica(c.logDir(b), TOPIC, PARTITIONS));
    const problems = checkReplicas(replicas, acked);
    const linearizable = checkLinearizability(kvModel, result.history, {
      partition: byKey,
      timeoutMs: 60_000,
    });
    console.log(
      `netns chaos (seed ${SEED}, bed ${bed.plan.subnet}): ${acked.size} acknowledged, ${result.failed} failed to send, ${result.history.length} KV ops; ${applied.length} faults: ${applied.join('; ')}${unavailable.length ? `; not available here: ${unavailable.join(', ')}` : ''}`,
    );
    for (const [kind, list] of Object.entries(problems))
      if (list.length > 0) console.log(`${kind}:\n${list.slice(0, 20).join('\n')}`);
    if (linearizable.ok === false) console.log(linearizable.explanation);
    expect(acked.size).toBeGreaterThan(1000);
    expect(problems).toEqual({ diverged: [], gaps: [], duplicated: [], disordered: [], lost: [] });
    expect(linearizable.ok).toBe(true);
  }, 240_000);
});
