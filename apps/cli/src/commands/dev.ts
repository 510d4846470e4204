import { type ChildProcess, spawn } from 'node:child_process';
import {
  appendFileSync,
  closeSync,
  createWriteStream,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  type WriteStream,
  writeSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SERVER_NODE_FLAGS } from '@strand/ops';
import { ErrorCode, StrandError } from '@strand/wire';
import { flag } from '../cli/flags.js';
import { command } from '../cli/spec.js';
import { UsageError } from '../cli/usage.js';
import { createDevAdmin, devSecurity, devSecurityHints } from './dev-secure.js';

const STOP_GRACE_MS = 10_000;
/** Lines of a child's output kept to show when it fails to start. */
const TAIL = 20;

/** A problem `strand dev` found before starting anything, said in plain words. */
export class DevError extends StrandError {
  readonly plain = true;
  constructor(message: string) {
    super(ErrorCode.Unavailable, message);
  }
}

/** Where `strand dev` writes its children's output (and the lock of its data folder). */
export const devFiles = (dataDir: string) => ({
  log: join(dataDir, 'dev.log'),
  lock: join(dataDir, 'dev.pid'),
});

/** How to show a folder to the user: relative to where they are, when it is below it. */
const shown = (dir: string) => {
  const rel = relative(process.cwd(), dir);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? `./${rel}` : dir;
};

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** What the lock file says: `dev PID`, then one `NAME PID` line per child started. */
function readLock(lock: string): { name: string; pid: number }[] {
  return readFileSync(lock, 'utf8')
    .split('\n')
    .map((l) => l.trim().split(' '))
    .filter(([name, pid]) => name && Number.isInteger(Number(pid)) && Number(pid) > 0)
    .map(([name, pid]) => ({ name: name!, pid: Number(pid) }));
}

/** `a`, `a and b`, `a, b and c`. */
const inWords = (items: string[]) =>
  items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;

/** The data folder, held by this process: a lock file created exclusively. */
export interface DataLock {
  /** Records a child, so that one left running by a killed strand dev is found next time. */
  add(name: string, pid: number): void;
  release(): void;
}

/**
 * Takes the data folder for this process. A lock left by a strand dev that is gone (killed
 * -9) is taken over, unless a child it started still runs (it would still hold the data).
 */
export function lockDataDir(dataDir: string): DataLock {
  const { lock } = devFiles(dataDir);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lock, 'wx');
      writeSync(fd, `dev ${process.pid}\n`);
      closeSync(fd);
      return {
        add: (name, pid) => appendFileSync(lock, `${name} ${pid}\n`),
        release: () => rmSync(lock, { force: true }),
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holders = readLock(lock).filter((h) => alive(h.pid));
      const dev = holders.find((h) => h.name === 'dev');
      if (dev)
        throw new DevError(
          `another Strand dev cluster is using ${shown(dataDir)} (pid ${dev.pid}); stop it, or give another --data (if pid ${dev.pid} is not strand, delete ${shown(lock)})`,
        );
      if (holders.length > 0)
        throw new DevError(
          `${inWords(holders.map((h) => `a ${h.name} (pid ${h.pid})`))} left by a strand dev that did not stop cleanly still use ${shown(dataDir)}: stop ${holders.length === 1 ? 'it' : 'them'} (kill ${holders.map((h) => h.pid).join(' ')}), then start again`,
        );
      rmSync(lock, { force: true });
    }
  }
  throw new DevError(`cannot lock ${shown(dataDir)}: ${shown(lock)} keeps coming back`);
}

/** Fails with the flag to change when a port is taken (before anything is started). */
export async function checkPortFree(port: number, flagName: string): Promise<void> {
  const server = createServer();
  const problem = await new Promise<NodeJS.ErrnoException | undefined>((done) => {
    server.once('error', done);
    server.listen(port, '127.0.0.1', () => done(undefined));
  });
  await new Promise<void>((done) => (problem ? done() : server.close(() => done())));
  if (problem?.code === 'EADDRINUSE')
    throw new DevError(
      `port ${port} is in use (another strand dev, or another program); choose another with ${flagName}`,
    );
  if (problem) throw new DevError(`cannot listen on 127.0.0.1:${port}: ${problem.message}`);
}

/**
 * A child process of `strand dev`, ready (with that line) once a line of its output matches.
 * Every line goes to the log file; once the cluster is up, also to the terminal (prefixed
 * with the name).
 */
class Child {
  readonly proc: ChildProcess;
  readonly ready: Promise<string>;
  readonly exited: Promise<string>;
  readonly tail: string[] = [];
  private running = true;
  private echo = false;

  constructor(
    readonly name: string,
    script: string,
    args: string[],
    readyLine: RegExp,
    log: WriteStream,
    terminal: (line: string) => void,
  ) {
    // Its own process group: Ctrl-C reaches `strand dev` only, which stops the children in order.
    this.proc = spawn(process.execPath, [...SERVER_NODE_FLAGS, script, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    this.exited = new Promise((done) => {
      this.proc.on('exit', (code, signal) => {
        this.running = false;
        done(signal ? `signal ${signal}` : `exit code ${code}`);
      });
    });
    let onReady = (_line: string) => {};
    this.ready = new Promise((done, fail) => {
      onReady = done;
      this.exited.then((how) => fail(new Error(`the ${name} exited before it was ready (${how})`)));
    });
    this.ready.catch(() => undefined);
    const line = (l: string) => {
      log.write(`${new Date().toISOString()} ${name} | ${l}\n`);
      this.tail.push(l);
      if (this.tail.length > TAIL) this.tail.shift();
      if (this.echo) terminal(`${name} | ${l}`);
      else if (readyLine.test(l)) onReady(l);
    };
    for (const stream of [this.proc.stdout, this.proc.stderr]) {
      let partial = '';
      stream?.on('data', (chunk: Buffer) => {
        const lines = (partial + chunk.toString('utf8')).split('\n');
        partial = lines.pop() ?? '';
        for (const l of lines) line(l);
      });
      stream?.on('end', () => partial && line(partial));
    }
  }

  /** From now on its lines also go to the terminal. */
  echoToTerminal(): void {
    this.echo = true;
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

/** A field of a child's pretty log line (`key=value`): its ready line names its URLs. */
function fieldOf(line: string, key: string): string {
  const m = new RegExp(`\\b${key}=(\\S+)`).exec(line);
  if (!m) throw new Error(`its ready line names no ${key}: ${line}`);
  return m[1]!;
}

export const dev = command({
  name: 'dev',
  summary:
    'run a single-node cluster in the foreground (a coordinator, a broker and the web console)',
  description:
    "Starts one coordinator (the KV store, the controller and the group coordinator), one broker registered with it, with their data in DIR, and the web console, and prints their addresses: the nodes' admin URLs (GET /metrics, /healthz, /readyz, on free ports) and the console's. Their output goes to DIR/dev.log, and to the terminal once the cluster is up. Ctrl-C stops them, the console and the broker first. One strand dev at a time may use a data folder.",
  flags: {
    data: flag.string('where the data lives (created if missing)', {
      placeholder: 'DIR',
      default: '.strand-data',
    }),
    port: flag.int("the coordinator's port (strand kv)", { min: 1, max: 65535, default: 2379 }),
    'broker-port': flag.int("the broker's port (topics, produce, consume)", {
      min: 1,
      max: 65535,
      default: 9092,
    }),
    'console-port': flag.int("the web console's port (0: any free port; its URL is printed)", {
      max: 65535,
      default: 0,
    }),
    secure: flag.bool(
      'TLS with a CA of its own, users (SCRAM) and ACLs; makes the certificates and an admin user in DIR and prints how to connect',
    ),
  },
  examples: [
    { command: 'strand dev' },
    { command: 'strand dev --data /tmp/strand --port 12379 --broker-port 19092' },
    { command: 'strand dev --console-port 8080' },
    { command: 'strand dev --secure', note: 'TLS, authentication and ACLs on' },
  ],
  check: ({ flags }) => {
    if (flags.port === flags['broker-port'])
      throw new UsageError(`--port and --broker-port must differ (both are ${flags.port})`, [
        'dev',
      ]);
    if (flags['console-port'] === flags.port || flags['console-port'] === flags['broker-port'])
      throw new UsageError(
        `--console-port must differ from --port and --broker-port (${flags['console-port']})`,
        ['dev'],
      );
  },
  run: async (ctx) => {
    const f = ctx.flags;
    const dataDir = resolve(f.data);
    const out = (line: string) => process.stdout.write(`${line}\n`);
    mkdirSync(dataDir, { recursive: true });
    const lock = lockDataDir(dataDir);
    const files = devFiles(dataDir);
    const log = createWriteStream(files.log, { flags: 'a' });
    const children: Child[] = [];
    // Last line of defence if this process ends abruptly: no child outlives it.
    const killAll = () => {
      for (const c of children) if (c.isRunning) c.proc.kill('SIGKILL');
      lock.release();
    };
    process.on('exit', killAll);
    const signalled = new Promise<'signal'>((done) => {
      if (ctx.signal.aborted) done('signal');
      ctx.signal.addEventListener('abort', () => done('signal'));
    });
    const stopAll = async () => {
      // The broker (started last) first: it deregisters from a coordinator that is still there.
      for (const c of [...children].reverse()) await c.stop();
      await new Promise((done) => log.end(done));
      process.off('exit', killAll);
      lock.release();
    };
    const stopped = async (code: number) => {
      await stopAll();
      out('Strand dev cluster stopped.');
      return code;
    };
    /** The child's ready line; undefined when a signal came first. */
    const start = async (child: Child): Promise<string | undefined> => {
      children.push(child);
      if (child.proc.pid) lock.add(child.name, child.proc.pid);
      const first = await Promise.race([child.ready, signalled]);
      return first === 'signal' ? undefined : first;
    };
    try {
      await checkPortFree(f.port, '--port');
      await checkPortFree(f['broker-port'], '--broker-port');
      if (f['console-port'] !== 0) await checkPortFree(f['console-port'], '--console-port');
    } catch (err) {
      await stopAll();
      throw err;
    }
    log.write(`${new Date().toISOString()} strand dev | started (pid ${process.pid})\n`);
    const secure = f.secure ? await devSecurity(dataDir) : undefined;
    const nodeFlags = secure?.nodeFlags ?? [];
    const coordinatorAddress = `127.0.0.1:${f.port}`;
    const brokerAddress = `127.0.0.1:${f['broker-port']}`;
    // The nodes' structured logs as readable lines (dev.log, the terminal), not JSON.
    const child = (name: string, script: string, args: string[], ready: RegExp) =>
      new Child(
        name,
        fileURLToPath(import.meta.resolve(script)),
        [...args, '--log-format', 'pretty'],
        ready,
        log,
        out,
      );
    // Each node's admin listener (metrics, health) on a free port: its ready line names it.
    const adminArgs = ['--admin-listen', '127.0.0.1:0'];
    const urls = { coordinator: '', broker: '', console: '' };
    try {
      const coordinator = child(
        'coordinator',
        '@strand/coordinator/main',
        [
          ...['--id', '1', '--listen', coordinatorAddress],
          ...['--data', resolve(dataDir, 'coordinator'), ...adminArgs, ...nodeFlags],
        ],
        /listening on/,
      );
      const coordinatorReady = await start(coordinator);
      if (coordinatorReady === undefined) return await stopped(0);
      urls.coordinator = fieldOf(coordinatorReady, 'admin');
      const broker = child(
        'broker',
        '@strand/broker/main',
        [
          '--id',
          '1',
          '--listen',
          brokerAddress,
          '--coordinators',
          coordinatorAddress,
          '--data',
          resolve(dataDir, 'broker'),
          ...adminArgs,
          ...nodeFlags,
        ],
        /broker \d+ listening on/,
      );
      const brokerReady = await start(broker);
      if (brokerReady === undefined) return await stopped(0);
      urls.broker = fieldOf(brokerReady, 'admin');
      if (secure) await createDevAdmin(secure, brokerAddress);
      const web = child(
        'console',
        '@strand/console/main',
        [
          '--listen',
          `127.0.0.1:${f['console-port']}`,
          '--bootstrap',
          brokerAddress,
          '--kv-bootstrap',
          coordinatorAddress,
          ...(secure?.consoleFlags ?? []),
        ],
        /listening on/,
      );
      const webReady = await start(web);
      if (webReady === undefined) return await stopped(0);
      urls.console = fieldOf(webReady, 'url');
    } catch (e) {
      const failed = children.find((c) => !c.isRunning) ?? children.at(-1)!;
      await stopAll();
      process.stderr.write(
        `strand: ${(e as Error).message}; its last lines (all of them in ${shown(files.log)}):\n${failed.tail.map((l) => `  ${l}`).join('\n')}\n`,
      );
      return 1;
    }

    const b = f['broker-port'] === 9092 ? '' : ` --bootstrap ${brokerAddress}`;
    const k = f.port === 2379 ? '' : ` --bootstrap ${coordinatorAddress}`;
    out(`Strand dev cluster is up: brokers ${brokerAddress}, coordinator ${coordinatorAddress}`);
    out(
      `  brokers (bootstrap for topics):  ${brokerAddress}   (or export STRAND_BOOTSTRAP=${brokerAddress})`,
    );
    out(
      `  coordinator (for strand kv):     ${coordinatorAddress}   (or export STRAND_KV_BOOTSTRAP=${coordinatorAddress})`,
    );
    out(`  console (in a browser):          ${urls.console}`);
    out(
      `  admin (metrics, health):         broker ${urls.broker}, coordinator ${urls.coordinator}   (GET /metrics, /healthz, /readyz)`,
    );
    out(`  data:                            ${shown(dataDir)}   (output in ${shown(files.log)})`);
    if (secure) for (const line of devSecurityHints(secure, brokerAddress, urls.broker)) out(line);
    out('  next (from anywhere in the repository):');
    out(`    pnpm strand topic create demo --partitions 3${b}`);
    out(`    seq 1 100 | pnpm strand produce demo${b}`);
    out(`    pnpm strand consume demo --from-beginning${b}`);
    out(`    pnpm strand kv put hello world${k}`);
    out('  Ctrl-C stops it.');
    for (const c of children) c.echoToTerminal();

    const first = await Promise.race([
      signalled,
      ...children.map((c) => c.exited.then((how) => ({ child: c, how }))),
    ]);
    if (first === 'signal') return stopped(0);
    process.stderr.write(
      `strand: the ${first.child.name} exited unexpectedly (${first.how}); stopping the cluster (its output is in ${shown(files.log)})\n`,
    );
    return stopped(1);
  },
});
