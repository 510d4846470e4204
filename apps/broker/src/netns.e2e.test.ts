import { Admin, KvClient } from '@strand/client';
import { netbedSkipReason, ProcessRegistry } from '@strand/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { type NetnsCluster, startNetnsCluster } from './netns-cluster.test-util.js';

const skip = netbedSkipReason();
const registry = new ProcessRegistry();
let cluster: NetnsCluster | undefined;
afterAll(() => cluster?.close());

describe.skipIf(skip)(
  '3 coordinators and 3 brokers on hosts of their own (network namespaces)',
  () => {
    it('serve a client on another host, every node on its own non-loopback address', async () => {
      cluster = await startNetnsCluster(registry, { coordinators: 3, brokers: 3 });
      const c = cluster;
      const { bed } = c;
      const hostOf = (address: string) => address.slice(0, address.lastIndexOf(':'));
      for (const address of [...c.bootstrap, ...c.coordinatorAddresses]) {
        expect(hostOf(address)).toMatch(/^10\.\d+\.\d+\.\d+$/);
        expect(hostOf(address)).not.toBe(bed.rootAddress);
      }

      // The client is a process on a host of its own: it reaches every broker at its address.
      const client = await c.client({
        job: 'roundtrip',
        bootstrap: c.bootstrap,
        topic: 'events',
        partitions: 3,
        replicationFactor: 3,
        records: 3000,
      });
      const line = client.readyLine!;
      expect(line).toMatch(/^result /);
      const result = JSON.parse(line.slice('result '.length));
      expect(result.brokers.sort((a: { id: number }, b: { id: number }) => a.id - b.id)).toEqual(
        [1, 2, 3].map((id) => ({ id, address: `${bed.address(`b${id}`)}:9092` })),
      );
      expect(result).toMatchObject({ produced: 3000, consumed: 3000, unexpected: [] });

      // Every replica lives on its broker's host; each partition is on all three.
      const admin = new Admin({ bootstrap: c.bootstrap });
      const topic = await admin.describeTopic('events');
      for (const p of topic.partitions) {
        expect([...p.replicas].sort()).toEqual([1, 2, 3]);
        expect([...p.isr].sort()).toEqual([1, 2, 3]);
      }
      await admin.close();

      // The coordinators know each other by their hosts' addresses.
      const kv = new KvClient({ bootstrap: c.coordinatorAddresses });
      const members = await kv.members();
      expect(members.members.map((m) => m.address).sort()).toEqual(
        [...c.coordinatorAddresses].sort(),
      );
      // Every node is bound to its host's address, not to loopback or every address.
      for (const [id, proc] of [...c.coordinators, ...c.brokers].map(
        ([id, p], i) => [i < 3 ? `c${id}` : `b${id}`, p] as const,
      )) {
        const listening = bed.exec(id, ['ss', '-Htlnp']);
        expect(listening).toContain(`${bed.address(id)}:`);
        expect(listening).not.toMatch(
          /127\.0\.0\.1:(2379|2380|9092)|\*:(2379|2380|9092)|0\.0\.0\.0:(2379|2380|9092)/,
        );
        expect(proc.running).toBe(true);
      }
      kv.close();
    }, 120_000);

    it('a client whose first address is an unreachable host tries the next one after a connect timeout', async () => {
      const c = cluster!;
      // b1 and c1 are cut off: their packets vanish, as when a machine is down or partitioned
      // (no refusal comes back, unlike a stopped process on a live machine).
      c.bed.isolate('b1');
      c.bed.isolate('c1');
      try {
        const admin = new Admin({ bootstrap: c.bootstrap, connectTimeoutMs: 2000 });
        const t0 = Date.now();
        const brokers = (await admin.describeCluster()).brokers.map((b) => b.id);
        expect(brokers.length).toBeGreaterThanOrEqual(2);
        expect(Date.now() - t0).toBeLessThan(20_000);
        await admin.close();

        const kv = new KvClient({ bootstrap: c.coordinatorAddresses, connectTimeoutMs: 2000 });
        await kv.put('unreachable-first', 'written');
        expect((await kv.get('unreachable-first'))?.value.toString()).toBe('written');
        kv.close();
      } finally {
        c.bed.heal();
      }
    }, 120_000);
  },
);
