import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidRequestError } from '@strand/wire';
import { z } from 'zod';
import { intString, type Parsed, parseFlags } from './args.js';

const DevFlags = z.object({
  data: z.string().min(1).optional(),
  port: intString(1, 65535).optional(),
  'broker-port': intString(1, 65535).optional(),
});

const STOP_GRACE_MS = 10_000;

/** A child process of `strand dev`, ready once a line of its stdout matches. */
class Child {
  readonly proc: ChildProcess;
  readonly ready: Promise<void>;
  readonly exited: Promise<string>;
  private running = true;

  constructor(
    readonly name: string,
    script: string,
    args: string[],
    readyLine: RegExp,
  ) {
    // Its own process group: Ctrl-C reaches `strand dev` only, which stops the children in order.
    this.proc = spawn(process.execPath, [script, ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
      detached: true,
    });
    this.exited = new Promise((done) => {
      this.proc.on('exit', (code, signal) => {
        this.running = false;
        done(signal ? `signal ${signal}` : `exit code ${code}`);
      });
    });
    this.ready = new Promise((done, fail) => {
      let partial = '';
      const onData = (chunk: Buffer) => {
        const lines = (partial + chunk.toString('utf8')).split('\n');
        partial = lines.pop() ?? '';
        if (lines.some((l) => readyLine.test(l))) {
          this.proc.stdout?.off('data', onData);
          this.proc.stdout?.resume(); // keep draining what it prints later
          done();
        }
      };
      this.proc.stdout?.on('data', onData);
      this.exited.then((how) => fail(new Error(`the ${name} exited before it was ready (${how})`)));
    });
    this.ready.catch(() => undefined);
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** SIGTERM, then SIGKILL if it has not ended after the grace period. */
  async stop(): Promise<void> {
    if (!this.running || !this.proc.pid) return;
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), STOP_GRACE_MS);
    await this.exited;
    clearTimeout(timer);
  }
}

/**
 * `strand dev`: a single-node cluster in the foreground, with its data in a local folder: one
 * coordinator (the KV store and controller) and one broker registered with it. Ctrl-C stops
 * both, the broker first; if either dies on its own, the other is stopped and the exit is 1.
 */
export async function runDev(
  p: Parsed,
  out: (line: string) => void,
  err: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Promise<number> {
  const f = parseFlags(DevFlags, p.flags);
  const dataDir = resolve(f.data ?? '.strand-data');
  const port = f.port ?? 2379;
  const brokerPort = f['broker-port'] ?? 9092;
  if (port === brokerPort)
    throw new InvalidRequestError(`--port and --broker-port must differ (both are ${port})`);
  const coordinatorAddress = `127.0.0.1:${port}`;
  const brokerAddress = `127.0.0.1:${brokerPort}`;
  mkdirSync(dataDir, { recursive: true });

  const children: Child[] = [];
  // Last line of defence if this process ends abruptly: no child outlives it.
  const killAll = () => {
    for (const c of children) if (c.isRunning) c.proc.kill('SIGKILL');
  };
  process.on('exit', killAll);
  let onSignal = () => {};
  const signalled = new Promise<'signal'>((done) => {
    onSignal = () => done('signal');
  });
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const shutdown = async (code: number) => {
    // The broker (started last) first: it deregisters from a coordinator that is still there.
    for (const c of [...children].reverse()) await c.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', killAll);
    out('Strand dev cluster stopped.');
    return code;
  };
  const start = async (child: Child): Promise<boolean> => {
    children.push(child);
    return (await Promise.race([child.ready.then(() => 'ready' as const), signalled])) === 'ready';
  };

  try {
    const coordinator = new Child(
      'coordinator',
      fileURLToPath(import.meta.resolve('@strand/coordinator/main')),
      ['--id', '1', '--listen', coordinatorAddress, '--data', resolve(dataDir, 'coordinator')],
      /listening on/,
    );
    if (!(await start(coordinator))) return await shutdown(0);
    const broker = new Child(
      'broker',
      fileURLToPath(import.meta.resolve('@strand/broker/main')),
      [
        '--id',
        '1',
        '--listen',
        brokerAddress,
        '--coordinators',
        coordinatorAddress,
        '--data',
        resolve(dataDir, 'broker'),
      ],
      /broker \d+ listening on/,
    );
    if (!(await start(broker))) return await shutdown(0);
  } catch (e) {
    err(`strand: ${(e as Error).message}`);
    return await shutdown(1);
  }

  const b = brokerPort === 9092 ? '' : ` --bootstrap ${brokerAddress}`;
  const k = port === 2379 ? '' : ` --bootstrap ${coordinatorAddress}`;
  out(`Strand dev cluster is up: brokers ${brokerAddress}, coordinator ${coordinatorAddress}`);
  out(
    `  brokers (bootstrap for topics):  ${brokerAddress}   (or export STRAND_BOOTSTRAP=${brokerAddress})`,
  );
  out(
    `  coordinator (for strand kv):     ${coordinatorAddress}   (or export STRAND_KV_BOOTSTRAP=${coordinatorAddress})`,
  );
  out(`  data:                            ${dataDir}`);
  out('  next:');
  out(`    strand topic create demo --partitions 3${b}`);
  out(`    seq 1 100 | strand produce demo${b}`);
  out(`    strand consume demo --from-beginning${b}`);
  out(`    strand kv put hello world${k}`);
  out('  Ctrl-C stops it.');

  const first = await Promise.race([
    signalled,
    ...children.map((c) => c.exited.then((how) => ({ child: c, how }))),
  ]);
  if (first === 'signal') return shutdown(0);
  err(`strand: the ${first.child.name} exited unexpectedly (${first.how}); stopping the cluster`);
  return shutdown(1);
}
