import { join } from 'node:path';
import { Admin, Producer } from '@strand/client';
import { coordinatorLayout, freePort, ProcessRegistry, tempDir } from '@strand/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { BROKER_MAIN, COORDINATOR_MAIN } from './cluster.test-util.js';

// Processes of a cluster start in any order (systemd units, pods, `strand dev`): a broker
// that comes up before its coordinators, or while they still elect their first leader, waits
// for them rather than exiting (the last CI saw brokers exit 'UNAVAILABLE: no leader' when
// the first election took longer than the client's few retries).

const registry = new ProcessRegistry();
const dir = tempDir('strand-startup-order-');
afterAll(async () => {
  await registry.stopAll();
  dir.cleanup();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('start-up order', () => {
  it('a broker started 20 s before three coordinators (default timing) waits, then serves', async () => {
    const layout = await coordinatorLayout(3);
    const listen = `127.0.0.1:${await freePort()}`;
    const broker = registry.spawnNode(BROKER_MAIN, {
      name: 'broker-1',
      args: [
        ...['--id', '1', '--listen', listen, '--advertise', listen],
        ...['--coordinators', [...layout.clients.values()].join(',')],
        ...['--data', join(dir.path, 'broker-1')],
      ],
    });
    const listening = broker.waitFor(/broker 1 listening on/, 60_000);
    listening.catch(() => undefined); // awaited below: failing earlier is reported there
    // Longer than a KV client tries a request (15 s): the broker itself keeps waiting.
    await sleep(20_000);
    expect(broker.running).toBe(true);
    await Promise.all(
      layout.ids.map((id) =>
        registry.start(COORDINATOR_MAIN, {
          name: `coordinator-${id}`,
          args: [...layout.args(id), '--data', join(dir.path, `coordinator-${id}`)],
          readyLine: /listening on/,
        }),
      ),
    );
    await listening;
    const admin = new Admin({ bootstrap: [listen] });
    const producer = new Producer({ bootstrap: [listen] });
    try {
      await admin.createTopic({ name: 'early' });
      const ack = await producer.send({ topic: 'early', value: 'after the wait' });
      expect(ack.offset).toBe(0);
    } finally {
      await producer.close();
      await admin.close();
    }
  }, 90_000);
});
