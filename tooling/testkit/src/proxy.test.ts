import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FaultProxy, ProxyMesh } from './proxy.js';

let servers: Server[] = [];
let proxies: { close: () => Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(proxies.map((p) => p.close()));
  for (const s of servers) s.close();
  servers = [];
  proxies = [];
});

/** An echo server that upper-cases what it receives. */
async function echoServer(): Promise<{ host: string; port: number }> {
  const server = createServer((s) => s.on('data', (d) => s.write(d.toString().toUpperCase())));
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { host: '127.0.0.1', port: (server.address() as { port: number }).port };
}

async function dial(port: number): Promise<{ sock: Socket; received: () => string }> {
  let got = '';
  const sock = connect(port, '127.0.0.1');
  sock.on('data', (d) => {
    got += d.toString();
  });
  sock.on('error', () => undefined);
  await new Promise<void>((r) => sock.once('connect', () => r()));
  return { sock, received: () => got };
}

const settle = (ms = 100) => new Promise((r) => setTimeout(r, ms));

/** Waits for what must happen (a loaded machine may take long); a fixed sleep only shows what must not. */
async function until(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await settle(10);
  }
}

describe('FaultProxy', () => {
  it('forwards bytes both ways, drops them when blackholed, and resumes on heal', async () => {
    const proxy = await FaultProxy.start({ target: await echoServer() });
    proxies.push(proxy);
    const c = await dial(proxy.address.port);
    c.sock.write('hello');
    await until(() => c.received().length >= 5);
    expect(c.received()).toBe('HELLO');
    proxy.blackhole('both');
    c.sock.write('lost');
    await settle();
    expect(c.received()).toBe('HELLO');
    proxy.heal();
    c.sock.write('again');
    // Exactly HELLOAGAIN: a 'LOST' forwarded late, after the check above, would show here.
    await until(() => c.received().length >= 10);
    expect(c.received()).toBe('HELLOAGAIN');
    expect(proxy.stats().connections).toBe(1);
    c.sock.destroy();
  });

  it('can cut one direction only', async () => {
    const proxy = await FaultProxy.start({ target: await echoServer() });
    proxies.push(proxy);
    const c = await dial(proxy.address.port);
    proxy.blackhole('fromTarget');
    c.sock.write('one');
    await until(() => proxy.stats().bytesToTarget === 3);
    await settle();
    expect(c.received()).toBe('');
    expect(proxy.stats().bytesToTarget).toBe(3);
    c.sock.destroy();
  });

  it('resets open connections and refuses new ones', async () => {
    const proxy = await FaultProxy.start({ target: await echoServer() });
    proxies.push(proxy);
    const c = await dial(proxy.address.port);
    const closed = new Promise<void>((r) => c.sock.once('close', () => r()));
    proxy.reset();
    await closed;
    proxy.refuse(true);
    const refused = connect(proxy.address.port, '127.0.0.1');
    refused.on('error', () => undefined);
    await new Promise<void>((r) => refused.once('close', () => r()));
    expect(proxy.stats().open).toBe(0);
  });

  it('builds asymmetric partitions in a mesh', async () => {
    const targets = new Map([
      [1, await echoServer()],
      [2, await echoServer()],
      [3, await echoServer()],
    ]);
    const mesh = await ProxyMesh.start(targets);
    proxies.push(mesh);
    const oneToTwo = await dial(mesh.proxy(1, 2).address.port);
    const twoToOne = await dial(mesh.proxy(2, 1).address.port);
    const oneToThree = await dial(mesh.proxy(1, 3).address.port);
    mesh.cutOneWay(1, 2);
    oneToTwo.sock.write('a');
    twoToOne.sock.write('b');
    oneToThree.sock.write('c');
    await until(
      () => mesh.proxy(2, 1).stats().bytesToTarget === 1 && oneToThree.received().length >= 1,
    );
    await settle();
    expect(oneToTwo.received()).toBe('');
    // 2 -> 1 still works one way (requests arrive) but replies from 1 to 2 are cut.
    expect(mesh.proxy(2, 1).stats().bytesToTarget).toBe(1);
    expect(twoToOne.received()).toBe('');
    expect(oneToThree.received()).toBe('C');
    mesh.heal();
    oneToTwo.sock.write('d');
    await until(() => oneToTwo.received().length >= 1);
    expect(oneToTwo.received()).toBe('D');
    for (const c of [oneToTwo, twoToOne, oneToThree]) c.sock.destroy();
  });
});
