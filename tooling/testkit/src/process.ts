import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatRecord, parseRecord, SERVER_NODE_FLAGS } from '@strand/ops';

/**
 * Ports for tests come from below the kernel's ephemeral range (32768+ on Linux). A port from
 * bind(0) is ephemeral, so between the probe and the node's own bind any outgoing connection on
 * the machine could take it (EADDRINUSE at start while other suites run). A random pick from a
 * wide range makes suites running side by side unlikely to probe the same port at once, and a
 * port is handed out only once per process.
 */
const TEST_PORTS = { from: 10_000, count: 22_000 } as const;
const handedOut = new Set<number>();

async function canBind(port: number): Promise<boolean> {
  const server = createServer();
  const bound = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => resolve(true));
  });
  if (bound) await new Promise<void>((resolve) => server.close(() => resolve()));
  return bound;
}

/** A free TCP port on 127.0.0.1, outside the ephemeral range, not handed out before here. */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < 1_000; tries++) {
    const port = TEST_PORTS.from + Math.floor(Math.random() * TEST_PORTS.count);
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    if (await canBind(port)) return port;
  }
  throw new Error('no free test port found in 1,000 tries');
}

export function tempDir(prefix = 'strand-test-'): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

export interface SpawnOptions {
  args?: string[];
  env?: Record<string, string>;
  cwd?: string;
  /** Resolve `ready` once a stdout/stderr line matches. */
  readyLine?: RegExp;
  /** Default READY_TIMEOUT_MS. */
  readyTimeoutMs?: number;
  name?: string;
  /** Run in this network namespace (`ip netns exec NS node ...`: the pid is node's own). */
  netns?: string;
}

const MAX_LINES = 500;

/** A node process started by a test; ended by pid through `kill9`, `terminate` or the registry. */
export class NodeProcess {
  /**
   * The most recent lines of output (stdout and stderr), at most 500. A structured log record
   * (a JSON line from pino) is kept as its readable line, `app node msg key=value ...`.
   */
  readonly lines: string[] = [];
  /** The most recent structured log records, as they were printed, at most 500. */
  readonly records: Record<string, unknown>[] = [];
  /** The line start() waited for (kept: `lines` holds only the most recent ones). */
  readyLine: string | undefined;
  readonly exited: Promise<number | null>;
  private exitCode: number | null | undefined;
  /** Called with every line as it arrives (waitFor sees each one, however many come at once). */
  private readonly watchers = new Set<(line: string) => void>();

  constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.exitCode = code ?? (signal ? null : code);
        resolve(this.exitCode);
      });
    });
    const follow = (stream: NodeJS.ReadableStream | null) => {
      let partial = '';
      stream?.on('data', (chunk: Buffer) => {
        const parts = (partial + chunk.toString('utf8')).split('\n');
        partial = parts.pop() ?? '';
        for (const line of parts) if (line.length > 0) this.addLine(line);
      });
      stream?.on('end', () => {
        if (partial.length > 0) this.addLine(partial);
        partial = '';
      });
    };
    follow(child.stdout);
    follow(child.stderr);
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  output(): string {
    return this.lines.join('\n');
  }

  /** Waits for a line matching `pattern`; fails with the recent output after `timeoutMs`. */
  async waitFor(pattern: RegExp, timeoutMs = 15_000): Promise<string> {
    const seen = this.lines.find((line) => pattern.test(line));
    if (seen !== undefined) return seen;
    let watcher: ((line: string) => void) | undefined;
    let timer: NodeJS.Timeout | undefined;
    try {
      const found = await Promise.race([
        new Promise<string>((resolve) => {
          watcher = (line) => {
            if (pattern.test(line)) resolve(line);
          };
          this.watchers.add(watcher);
        }),
        new Promise<undefined>((resolve) => {
          timer = setTimeout(() => resolve(undefined), timeoutMs);
        }),
        this.exited.then(() => undefined),
      ]);
      if (found !== undefined) return found;
    } finally {
      if (watcher) this.watchers.delete(watcher);
      clearTimeout(timer);
    }
    throw new Error(
      `${this.name} (pid ${this.pid}) did not print ${pattern} (${this.running ? 'timeout' : `exited ${this.exitCode}`}); last output:\n${this.lines.slice(-30).join('\n')}`,
    );
  }

  private addLine(raw: string): void {
    const rec = parseRecord(raw);
    const line = rec ? formatRecord(rec, { who: true }) : raw;
    if (rec) {
      this.records.push(rec);
      if (this.records.length > MAX_LINES) this.records.shift();
    }
    this.lines.push(line);
    if (this.lines.length > MAX_LINES) this.lines.shift();
    for (const w of this.watchers) w(line);
  }

  kill9(): Promise<number | null> {
    if (this.running) process.kill(this.pid, 'SIGKILL');
    return this.exited;
  }

  pause(): void {
    if (this.running) process.kill(this.pid, 'SIGSTOP');
  }

  resume(): void {
    if (this.running) process.kill(this.pid, 'SIGCONT');
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async terminate(graceMs = 5_000): Promise<number | null> {
    if (!this.running) return this.exitCode ?? null;
    process.kill(this.pid, 'SIGCONT');
    process.kill(this.pid, 'SIGTERM');
    const timer = setTimeout(() => this.kill9().catch(() => undefined), graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * How long a started server may take to say it is ready. A second unloaded (most of it module
 * loading), but CI runs a dozen clusters on two cores at once, and there coordinators and
 * brokers were seen printing nothing within 15 s.
 */
export const READY_TIMEOUT_MS = 45_000;

/** Every process a test started, so that all of them end, by pid, when the test does. */
export class ProcessRegistry {
  private readonly procs = new Set<NodeProcess>();

  spawnNode(script: string, opts: SpawnOptions = {}): NodeProcess {
    // Servers run with their own flags, as their bin scripts do. STRAND_NODE_FLAGS: more
    // flags for every node process started here, e.g. to profile a benchmark's brokers with
    // "--cpu-prof --cpu-prof-dir=/tmp/prof".
    const nodeFlags = (process.env.STRAND_NODE_FLAGS ?? '').split(' ').filter(Boolean);
    const argv = [...SERVER_NODE_FLAGS, ...nodeFlags, script, ...(opts.args ?? [])];
    const [command, args] = opts.netns
      ? ['ip', ['netns', 'exec', opts.netns, process.execPath, ...argv]]
      : [process.execPath, argv];
    const child = spawn(command, args, {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const proc = new NodeProcess(opts.name ?? script, child);
    this.procs.add(proc);
    return proc;
  }

  async start(script: string, opts: SpawnOptions & { readyLine: RegExp }): Promise<NodeProcess> {
    const proc = this.spawnNode(script, opts);
    proc.readyLine = await proc.waitFor(opts.readyLine, opts.readyTimeoutMs ?? READY_TIMEOUT_MS);
    return proc;
  }

  /**
   * Ends every process started here: SIGTERM first, so a process that started children of its
   * own (`strand dev`) can end them, then SIGKILL after `graceMs`.
   */
  async stopAll(graceMs = 5_000): Promise<void> {
    const all = [...this.procs];
    this.procs.clear();
    await Promise.all(all.map((p) => p.terminate(graceMs)));
  }
}
