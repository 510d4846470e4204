import net from 'node:net';
import type { KvClient } from '@strand/client';
import { ProcessRegistry } from '@strand/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type TestCluster } from './cluster.test-util.js';

// Before: ~19,500 idle sockets to a coordinator were held forever (RSS 130 -> 607 MB).

const registry = new ProcessRegistry();
let cluster: TestCluster;
let client: KvClient;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  cluster = await startCluster(registry, 1, [
    ...['--max-connections-per-ip', '40', '--connections-max-idle-ms', '1500'],
  ]);
  await cluster.leader();
  client = cluster.client();
  await client.put('k', 'v');
});
afterAll(async () => {
  await cluster.close();
});

/** Opens `n` TCP connections that never say anything; each records when it was closed. */
async function silentSockets(address: string, n: number) {
  const [host, port] = [address.split(':')[0]!, Number(address.split(':')[1])];
  const socks = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<{ socket: net.Socket; closed: boolean }>((resolve) => {
          const s = { socket: net.connect(port, host), closed: false };
          s.socket.on('close', () => {
            s.closed = true;
          });
          s.socket.on('error', () => undefined);
          s.socket.once('connect', () => resolve(s));
          s.socket.once('error', () => resolve(s));
        }),
    ),
  );
  return socks;
}

describe('connections a coordinator will hold', () => {
  it('refuses connections past the per-IP limit, closes silent ones, and keeps serving', async () => {
    const socks = await silentSockets(cluster.addresses.get(1)!, 100);
    await sleep(300);
    const open = socks.filter((s) => !s.closed).length;
    expect(open).toBeLessThanOrEqual(40); // the client's own connection counts too
    expect(open).toBeGreaterThan(20);
    // Silent past the idle time: closed by the coordinator, none left.
    await sleep(2500);
    expect(socks.filter((s) => !s.closed).length).toBe(0);
    for (const s of socks) s.socket.destroy();
    // Everyone else is served as before.
    expect((await client.get('k'))?.value.toString()).toBe('v');
    expect(cluster.procs.get(1)!.running).toBe(true);
    expect(cluster.procs.get(1)!.output()).toMatch(/refusing connections/);
  });

  it('a client idle past the idle time finds its connection closed, and carries on over a new one', async () => {
    await client.put('k2', 'v2');
    await sleep(2500); // the coordinator closes the idle HTTP/2 connection meanwhile
    expect((await client.get('k2'))?.value.toString()).toBe('v2');
  });
});
