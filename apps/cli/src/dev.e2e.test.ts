import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventually, freePort, ProcessRegistry, readiness, tempDir } from '@strand/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, exec, startDev } from './cli.test-util.js';

const COORDINATOR = fileURLToPath(import.meta.resolve('@strand/coordinator/main'));
const BROKER = fileURLToPath(import.meta.resolve('@strand/broker/main'));
const registry = new ProcessRegistry();
const dir = tempDir('strand-dev-');

/** Children of a strand dev killed -9 (not the registry's): ended by pid, whatever happens. */
const orphaned: number[] = [];

afterAll(async () => {
  for (const pid of orphaned) if (alive(pid)) process.kill(pid, 'SIGKILL');
  await registry.stopAll();
  dir.cleanup();
});

const strand = (args: string[], opts: { cwd?: string } = {}) =>
  exec(process.execPath, [CLI, ...args], opts);
const portOf = (address: string) => address.slice(address.lastIndexOf(':') + 1);
/** Whether a process has a socket open besides its stdio (Linux: /proc/PID/fd). */
const hasSocket = (pid: number) =>
  readdirSync(`/proc/${pid}/fd`).some((fd) => {
    if (Number(fd) <= 2) return false; // stdio pipes are socket pairs too
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:');
    } catch {
      return false; // closed meanwhile
    }
  });

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
async function until(ok: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('strand dev', () => {
  it('keeps its children output (terminal and dev.log), stops cleanly on SIGTERM, leaves nothing behind', async () => {
    const data = join(dir.path, 'first');
    const { proc: dev, brokers, coordinator } = await startDev(registry, data);
    expect(dev.output()).toContain(brokers);
    expect(dev.output()).toMatch(/pnpm strand topic create demo/);
    expect(readFileSync(join(data, 'dev.pid'), 'utf8')).toMatch(
      new RegExp(`^dev ${dev.pid}\ncoordinator \\d+\nbroker \\d+\nconsole \\d+\n$`),
    );
    // The URLs it prints answer: each node's admin listener, and the console's page.
    const admin = /admin \(metrics, health\): +broker (http:\S+), coordinator (http:\S+) /.exec(
      dev.output(),
    );
    expect(admin).not.toBeNull();
    for (const url of [admin![1]!, admin![2]!]) {
      const ready = await eventually(`${url}/readyz`, async () => {
        const r = await readiness(url);
        return r.status === 200 ? r : undefined;
      });
      expect(ready.body).toMatchObject({ ready: true });
    }
    const web = /console \(in a browser\): +(http:\S+)$/m.exec(dev.output())![1]!;
    const overview = await fetch(web);
    expect(overview.status).toBe(200);
    expect(await overview.text()).toContain('<h1>Overview</h1>');
    // Before the cluster is up, its children's lines go to the log only (written to the file
    // asynchronously: the broker's ready line may reach it just after the banner).
    const log = () => readFileSync(join(data, 'dev.log'), 'utf8');
    expect(log()).toMatch(/ coordinator \| .*INFO +coordinator 1 listening on /);
    await until(() => / broker \| .*INFO +broker 1 listening on /.test(log()), 10_000);
    expect(dev.output()).not.toMatch(/listening on/);

    expect(await dev.terminate(20_000)).toBe(0);
    expect(dev.output()).toMatch(/Strand dev cluster stopped\.$/);
    // What they print once it is up reaches the terminal too (here: how they stop).
    expect(dev.output()).toMatch(/^coordinator \| .*coordinator 1 stopping signal=SIGTERM$/m);
    expect(log()).toMatch(/ coordinator \| .*coordinator 1 stopping signal=SIGTERM/);
    const probes = await Promise.all([
      strand(['kv', 'members', '--bootstrap', coordinator, '--timeout-ms', '500']),
      strand(['cluster', '--bootstrap', brokers, '--timeout-ms', '500']),
    ]);
    for (const probe of probes) expect(probe.code).not.toBe(0);
    expect(existsSync(join(data, 'coordinator'))).toBe(true);
    expect(existsSync(join(data, 'broker'))).toBe(true);
    expect(existsSync(join(data, 'dev.pid'))).toBe(false);
  });

  it('refuses a second strand dev on the same data folder, and ports in use, in plain words', async () => {
    const cwd = dir.path;
    const first = await startDev(registry, join(cwd, 'shared'), { cwd });
    const dev = first.proc;
    const [port, brokerPort] = [String(await freePort()), String(await freePort())];
    const again = await strand(
      ['dev', '--data', 'shared', '--port', port, '--broker-port', brokerPort],
      {
        cwd,
      },
    );
    expect(again).toMatchObject({ code: 1, stdout: '' });
    expect(again.stderr).toBe(
      `strand: another Strand dev cluster is using ./shared (pid ${dev.pid}); stop it, or give another --data (if pid ${dev.pid} is not strand, delete ./shared/dev.pid)\n`,
    );
    const taken = portOf(first.brokers);
    const samePorts = await strand([
      'dev',
      '--data',
      join(cwd, 'elsewhere'),
      '--port',
      port,
      '--broker-port',
      taken,
    ]);
    expect(samePorts).toMatchObject({ code: 1, stdout: '' });
    expect(samePorts.stderr).toBe(
      `strand: port ${taken} is in use (another strand dev, or another program); choose another with --broker-port\n`,
    );
    expect(dev.running).toBe(true);
    expect(await dev.terminate(20_000)).toBe(0);

    // strand dev killed -9: its children outlive it and still hold the data. The next start
    // names them; once they are gone, the lock it left is taken over.
    const killed = await startDev(registry, join(cwd, 'killed'), { cwd });
    await killed.proc.kill9();
    const orphans = readFileSync(join(cwd, 'killed', 'dev.pid'), 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => Number(l.split(' ')[1]));
    orphaned.push(...orphans);
    expect(orphans).toHaveLength(3);
    const refused = await strand(['dev', '--data', 'killed'], { cwd });
    expect(refused).toMatchObject({ code: 1, stdout: '' });
    expect(refused.stderr).toBe(
      `strand: a coordinator (pid ${orphans[0]}), a broker (pid ${orphans[1]}) and a console (pid ${orphans[2]}) left by a strand dev that did not stop cleanly still use ./killed: stop them (kill ${orphans.join(' ')}), then start again\n`,
    );
    for (const pid of orphans) process.kill(pid, 'SIGKILL');
    await until(() => orphans.every((pid) => !alive(pid)));
    const after = await startDev(registry, join(cwd, 'killed'), { cwd });
    expect(await after.proc.terminate(20_000)).toBe(0);

    const holder = createServer().listen(0, '127.0.0.1');
    await new Promise((r) => holder.once('listening', r));
    const held = (holder.address() as { port: number }).port;
    const busy = await strand(['dev', '--data', join(cwd, 'busy'), '--port', String(held)]);
    expect(busy).toMatchObject({ code: 1, stdout: '' });
    expect(busy.stderr).toMatch(new RegExp(`^strand: port ${held} is in use .*--port\\n$`));
    holder.close();
  });
});

describe('strand consume --group while the coordinator is away', () => {
  it('ends on SIGTERM (it is trying to join the group meanwhile)', async () => {
    const [cPort, bPort] = [await freePort(), await freePort()];
    const coordinator = `127.0.0.1:${cPort}`;
    const coord = await registry.start(COORDINATOR, {
      name: 'coordinator',
      args: ['--id', '1', '--listen', coordinator, '--data', join(dir.path, 'c1')],
      readyLine: /listening on/,
      readyTimeoutMs: 60_000,
    });
    await registry.start(BROKER, {
      name: 'broker',
      args: [
        '--id',
        '1',
        '--listen',
        `127.0.0.1:${bPort}`,
        '--coordinators',
        coordinator,
        '--data',
        join(dir.path, 'b1'),
      ],
      readyLine: /listening on/,
      readyTimeoutMs: 60_000,
    });
    const env = { STRAND_BOOTSTRAP: `127.0.0.1:${bPort}` };
    expect(
      (await strand(['topic', 'create', 'orders', '--bootstrap', env.STRAND_BOOTSTRAP])).code,
    ).toBe(0);
    await coord.kill9();
    const member = registry.spawnNode(CLI, {
      name: 'strand consume --group',
      args: ['consume', 'orders', '--group', 'g'],
      env,
    });
    // Once it is talking to the cluster (its signal handlers come before that), and then long
    // enough to be inside its join retries. Before the fix it ran on until kill -9.
    await until(() => hasSocket(member.pid));
    await new Promise((r) => setTimeout(r, 2000));
    expect(member.running).toBe(true);
    process.kill(member.pid, 'SIGTERM');
    const hung = new Promise((r) => setTimeout(() => r('still running after 60 s'), 60_000));
    expect(await Promise.race([member.exited, hung])).toBe(0);
  });
});
