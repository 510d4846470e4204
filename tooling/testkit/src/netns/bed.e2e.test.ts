import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ProcessRegistry, tempDir } from '../process.js';
import { Netbed, netbedSkipReason, sweepStaleNetbeds } from './bed.js';

const skip = netbedSkipReason();
const dir = tempDir('strand-netbed-');
const registry = new ProcessRegistry();
let bed: Netbed | undefined;
afterAll(async () => {
  await registry.stopAll();
  bed?.destroy();
  dir.cleanup();
});

const namespaces = () => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
const DIST = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'index.js');

// A server that greets with its own address, and a client that prints what it got, or why not.
const server = join(dir.path, 'server.mjs');
writeFileSync(
  server,
  `import { createServer } from 'node:net';
const [host, port] = process.argv.slice(2);
createServer((s) => s.end('hello from ' + host)).listen(Number(port), host, () => console.log('listening'));`,
);
const client = join(dir.path, 'client.mjs');
writeFileSync(
  client,
  `import { connect } from 'node:net';
const [host, port] = process.argv.slice(2);
const s = connect({ host, port: Number(port), timeout: 1500 });
s.on('data', (d) => { console.log('got ' + d + ' as ' + s.localAddress); process.exit(0); });
s.on('timeout', () => { console.log('timeout'); process.exit(0); });
s.on('error', (e) => { console.log('error ' + e.code); process.exit(0); });`,
);
const dial = (from: string, to: string): string =>
  bed!.exec(from, [process.execPath, client, bed!.address(to), '7000']).trim();

describe.skipIf(skip)('the network-namespace test bed', () => {
  it('gives each host its own address, reachable from the others, until partitioned', async () => {
    bed = Netbed.create(['a', 'b', 'c']);
    const b = bed;
    console.log(`bed ${b.plan.subnet}, capabilities ${JSON.stringify(b.capabilities)}`);
    for (const h of ['a', 'b', 'c']) {
      expect(b.exec(h, ['ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0'])).toContain(
        `${b.address(h)}/24`,
      );
      await registry.start(server, {
        name: `server-${h}`,
        args: [b.address(h), '7000'],
        netns: b.host(h).ns,
        readyLine: /listening/,
      });
    }
    expect(dial('b', 'a')).toBe(`got hello from ${b.address('a')} as ${b.address('b')}`);
    expect(dial('c', 'a')).toBe(`got hello from ${b.address('a')} as ${b.address('c')}`);

    // One way: b's packets to a vanish, so b cannot connect (nor answer a); c is untouched.
    b.partition(['b'], ['a'], { oneWay: true });
    expect(dial('b', 'a')).toBe('timeout');
    expect(dial('a', 'b')).toBe('timeout');
    expect(dial('c', 'a')).toMatch(/^got hello/);
    expect(dial('a', 'c')).toMatch(/^got hello/);
    b.heal();
    expect(dial('b', 'a')).toMatch(/^got hello/);

    // Isolated: nobody reaches c, c reaches nobody, the test process neither.
    b.isolate('c');
    expect(dial('a', 'c')).toBe('timeout');
    expect(dial('c', 'b')).toBe('timeout');
    expect(dial('a', 'b')).toMatch(/^got hello/);
    b.heal();
    expect(dial('a', 'c')).toMatch(/^got hello/);

    if (b.capabilities.randomLoss) {
      // Every packet lost: as good as a partition, and gone again once healed.
      b.loss('a', 1);
      expect(dial('b', 'a')).toBe('timeout');
      b.heal();
      expect(dial('b', 'a')).toMatch(/^got hello/);
    }
    if (b.capabilities.duplication) {
      // TCP drops the copies: the connection works through them.
      b.duplicate('a', 1);
      expect(dial('a', 'b')).toMatch(/^got hello/);
      b.heal();
    }
    if (!b.capabilities.netem) expect(() => b.netem('a', { delayMs: 10 })).toThrow(/netem/);

    await registry.stopAll();
    const runId = b.plan.runId;
    b.destroy();
    expect(namespaces()).not.toContain(runId);
    expect(execFileSync('ip', ['link', 'show'], { encoding: 'utf8' })).not.toContain(runId);
  });

  it('tears a bed down when its process exits, and sweeps one whose process was killed -9', async () => {
    const script = join(dir.path, 'owner.mjs');
    writeFileSync(
      script,
      `import { Netbed } from ${JSON.stringify(DIST)};
const bed = Netbed.create(['x']);
console.log('bed ' + bed.plan.runId);
if (process.argv[2] === 'exit') process.exit(0);
setInterval(() => {}, 1000);`,
    );
    const exiting = registry.spawnNode(script, { args: ['exit'], name: 'exits' });
    const exitedBed = (await exiting.waitFor(/^bed /)).slice(4);
    await exiting.exited;
    expect(namespaces()).not.toContain(exitedBed);

    const killed = await registry.start(script, { name: 'killed', readyLine: /^bed / });
    const killedBed = killed.readyLine!.slice(4);
    expect(namespaces()).toContain(killedBed);
    await killed.kill9();
    expect(namespaces()).toContain(killedBed);
    expect(sweepStaleNetbeds()).toContain(killedBed);
    expect(namespaces()).not.toContain(killedBed);
  });
});
