import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  blockCommand,
  type Command,
  clearQdiscCommand,
  duplicateCommand,
  faultChainCommands,
  healCommands,
  lossCommand,
  type NetemSpec,
  netemCommand,
  setupCommands,
  throttleCommand,
} from './commands.js';
import {
  type HostPlan,
  NETBED_PREFIX,
  type NetbedPlan,
  namespacesOf,
  planNetbed,
  runIdOf,
  SUBNET_SECOND_OCTETS,
} from './plan.js';

/**
 * Where runs claim their subnet: `snb-X-Y.pid` holds the owner's pid. One fixed folder for
 * every run on the machine (TMPDIR may differ between them), created before any namespace, so
 * a namespace without a live owner's file is a leftover.
 */
const OWNERS = '/tmp/strand-netbed';

export class NetbedError extends Error {
  readonly code = 'NETBED';
}

/** A fault this machine cannot make (its kernel lacks the piece); the message says which. */
export class NetbedUnsupportedError extends Error {
  readonly code = 'NETBED_UNSUPPORTED';
}

export interface NetbedCapabilities {
  /** iptables works inside a namespace: partitions. */
  iptables: boolean;
  /** iptables' statistic match: random loss. */
  randomLoss: boolean;
  /** iptables' TEE target: duplication. */
  duplication: boolean;
  /** tc netem (delay, jitter, reorder, loss, duplication); absent from some kernels. */
  netem: boolean;
  /** tc tbf: a slow link. */
  throttle: boolean;
}

function run(cmd: Command): string {
  try {
    return execFileSync(cmd[0]!, cmd.slice(1), {
      stdio: ['ignore', 'pipe', 'pipe'],
      encoding: 'utf8',
    });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new NetbedError(`${cmd.join(' ')}: ${(e.stderr ?? '').trim() || e.message}`);
  }
}

const succeeds = (cmd: Command): boolean => {
  try {
    run(cmd);
    return true;
  } catch {
    return false;
  }
};

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * Why this machine cannot build a bed, or undefined when it can: it needs Linux, root and
 * iproute2, and a namespace must really be made (a container may forbid it).
 */
export function netbedUnavailable(): string | undefined {
  if (process.platform !== 'linux') return `network namespaces need Linux, not ${process.platform}`;
  if (process.getuid?.() !== 0) return 'network namespaces need root (ip netns add)';
  if (!succeeds(['ip', '-V'])) return 'iproute2 (the ip command) is not installed';
  const probe = `snbprobe-${process.pid}`;
  try {
    run(['ip', 'netns', 'add', probe]);
  } catch (err) {
    return `cannot create a network namespace: ${(err as Error).message}`;
  }
  succeeds(['ip', 'netns', 'del', probe]);
  return undefined;
}

/**
 * For `describe.skipIf`: the reason to skip a bed's tests here, printed once; undefined when
 * the bed can be built, and always undefined under CI=true, where a machine without namespaces
 * must fail the test (Netbed.create throws the reason) rather than skip it unseen.
 */
export function netbedSkipReason(): string | undefined {
  if (process.env.CI === 'true') return undefined;
  const reason = netbedUnavailable();
  if (reason) console.warn(`skipping the network-namespace tests: ${reason}`);
  return reason;
}

const ownerFile = (runId: string) => join(OWNERS, `${runId}.pid`);

function ownerAlive(runId: string): boolean {
  try {
    const pid = Number(readFileSync(ownerFile(runId), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 && isAlive(pid);
  } catch {
    return false;
  }
}

const listNamespaces = (): string[] =>
  run(['ip', 'netns', 'list'])
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name.length > 0);

/** SIGKILLs every process left in `ns` (by pid), then deletes it. */
function deleteNamespace(ns: string): void {
  let pids: string[] = [];
  try {
    pids = run(['ip', 'netns', 'pids', ns]).split('\n').filter(Boolean);
  } catch {
    // Gone already.
  }
  for (const pid of pids) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // Ended meanwhile.
    }
  }
  succeeds(['ip', 'netns', 'del', ns]);
}

/**
 * Removes what beds of dead runs left behind (a test process killed before its exit hook ran):
 * every `snb-X-Y*` namespace whose owner's file is missing or names a dead pid, the processes
 * in them, the root veth and the owner's file.
 */
export function sweepStaleNetbeds(): string[] {
  const byRun = new Map<string, string[]>();
  for (const ns of listNamespaces()) {
    const runId = runIdOf(ns);
    if (runId) byRun.set(runId, [...(byRun.get(runId) ?? []), ns]);
  }
  let owners: string[] = [];
  try {
    owners = readdirSync(OWNERS)
      .filter((f) => f.endsWith('.pid'))
      .map((f) => f.slice(0, -4));
  } catch {
    // No run has claimed a subnet yet.
  }
  for (const runId of owners) if (!byRun.has(runId)) byRun.set(runId, []);
  const swept: string[] = [];
  for (const [runId, namespaces] of byRun) {
    if (ownerAlive(runId)) continue;
    // Hosts first, the switch (named runId) last: the root veth dies with it.
    for (const ns of namespaces.sort((a, b) => b.length - a.length)) deleteNamespace(ns);
    succeeds(['ip', 'link', 'del', runId]);
    rmSync(ownerFile(runId), { force: true });
    swept.push(runId);
  }
  return swept;
}

/** A free 10.X.Y.0/24: claimed by creating its owner file exclusively, unused by the root namespace. */
function claimSubnet(): [number, number] {
  mkdirSync(OWNERS, { recursive: true });
  const inUse = run(['ip', '-4', '-o', 'addr', 'show']) + run(['ip', '-4', 'route', 'show']);
  const span = SUBNET_SECOND_OCTETS.to - SUBNET_SECOND_OCTETS.from + 1;
  for (let tries = 0; tries < 200; tries++) {
    const x = SUBNET_SECOND_OCTETS.from + Math.floor(Math.random() * span);
    const y = Math.floor(Math.random() * 256);
    if (inUse.includes(`10.${x}.${y}.`)) continue;
    try {
      writeFileSync(ownerFile(`${NETBED_PREFIX}${x}-${y}`), `${process.pid}\n`, { flag: 'wx' });
      return [x, y];
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  throw new NetbedError('no free 10.x.y.0/24 found in 200 tries');
}

const live = new Set<Netbed>();
let hooked = false;

/**
 * Beds still up when the process ends are torn down then: on a normal exit, and on SIGINT,
 * SIGTERM and SIGHUP (re-raised afterwards, so the process still ends by its signal). A
 * SIGKILL leaves them to the next run's sweep.
 */
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  const destroyAll = () => {
    for (const bed of [...live]) bed.destroy();
  };
  process.once('exit', destroyAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      destroyAll();
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.once(signal, onSignal);
  }
}

/**
 * A test bed of Linux network namespaces: one namespace per host, each with one address on the
 * run's own /24, all joined by a bridge in a switch namespace; the test process is on it too
 * (root veth, `.1`). Faults are made inside the hosts' namespaces (iptables, tc) and go with
 * them. Root only; see netbedUnavailable().
 */
export class Netbed {
  readonly capabilities: NetbedCapabilities;
  private readonly chained = new Set<string>();
  private destroyed = false;

  private constructor(readonly plan: NetbedPlan) {
    live.add(this);
    hookExit();
    try {
      for (const cmd of setupCommands(plan)) run(cmd);
      this.capabilities = probeCapabilities(plan);
    } catch (err) {
      this.destroy();
      throw err;
    }
  }

  /** Builds a bed with these hosts, after sweeping what dead runs left behind. */
  static create(hostNames: string[]): Netbed {
    const reason = netbedUnavailable();
    if (reason) throw new NetbedUnsupportedError(reason);
    sweepStaleNetbeds();
    return new Netbed(planNetbed(claimSubnet(), hostNames));
  }

  host(name: string): HostPlan {
    const h = this.plan.hosts.find((x) => x.name === name);
    if (!h) throw new NetbedError(`no host ${name} on this bed`);
    return h;
  }

  address(name: string): string {
    return this.host(name).address;
  }

  /** The test process's own address on the bed. */
  get rootAddress(): string {
    return this.plan.root.address;
  }

  /** Runs a command inside a host's namespace and returns what it printed. */
  exec(name: string, argv: string[]): string {
    return run(['ip', 'netns', 'exec', this.host(name).ns, ...argv]);
  }

  /**
   * Packets from every host of `from` to every host of `to` are dropped, and the other way
   * too unless `oneWay`. 'root' stands for the test process (only as a sender).
   */
  partition(from: string[], to: string[], opts: { oneWay?: boolean } = {}): void {
    for (const a of from)
      for (const b of to) {
        this.block(a, b);
        if (!opts.oneWay && a !== 'root') this.block(b, a);
      }
  }

  /** Cuts `name` off from every other host and from the test process, both ways. */
  isolate(name: string): void {
    const others = this.plan.hosts.filter((h) => h.name !== name).map((h) => h.name);
    this.partition([name], others);
    this.block('root', name);
  }

  /** Drops a share (0-1) of the packets arriving at `name`. */
  loss(name: string, probability: number): void {
    this.require('randomLoss', 'random loss needs iptables with the statistic match');
    this.fault(name, lossCommand(this.host(name), probability));
  }

  /** Sends a share (0-1) of the packets `name` sends to every other host twice. */
  duplicate(name: string, probability: number): void {
    this.require('duplication', 'duplication needs iptables with the TEE target');
    const h = this.host(name);
    for (const peer of this.plan.hosts)
      if (peer !== h) this.fault(name, duplicateCommand(h, peer, probability));
  }

  /** tc netem on everything `name` sends (replacing a throttle or an earlier netem). */
  netem(name: string, spec: NetemSpec): void {
    this.require('netem', 'delay and reordering need tc netem: this kernel has no sch_netem');
    run(netemCommand(this.host(name), spec));
  }

  /** Holds everything `name` sends to `kbit` kbit/s. */
  throttle(name: string, kbit: number): void {
    this.require('throttle', 'a slow link needs tc tbf');
    run(throttleCommand(this.host(name), kbit));
  }

  /** Removes netem or a throttle from `name`. */
  clearQdisc(name: string): void {
    succeeds(clearQdiscCommand(this.host(name)));
  }

  /** Lifts every partition, loss and duplication of the bed (not netem or throttles). */
  heal(): void {
    for (const h of this.plan.hosts)
      if (this.chained.has(h.name)) for (const cmd of healCommands(h)) run(cmd);
  }

  /** Kills what runs in the bed's namespaces and deletes them; safe to call twice. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    live.delete(this);
    for (const ns of namespacesOf(this.plan)) deleteNamespace(ns);
    // The root veth went with its switch-side peer; deleted by name in case it lingers.
    succeeds(['ip', 'link', 'del', this.plan.root.dev]);
    rmSync(ownerFile(this.plan.runId), { force: true });
  }

  private block(from: string, to: string): void {
    const sender = from === 'root' ? this.plan.root : this.host(from);
    this.fault(to, blockCommand(sender, this.host(to)));
  }

  private fault(name: string, cmd: Command): void {
    this.require('iptables', 'partitions need iptables (apt-get install iptables)');
    const h = this.host(name);
    if (!this.chained.has(h.name)) {
      for (const c of faultChainCommands(h)) run(c);
      this.chained.add(h.name);
    }
    run(cmd);
  }

  private require(what: keyof NetbedCapabilities, message: string): void {
    if (!this.capabilities[what]) throw new NetbedUnsupportedError(message);
  }
}

/** What this kernel and these tools can do, tried in the switch namespace (then undone). */
function probeCapabilities(plan: NetbedPlan): NetbedCapabilities {
  const sw = plan.switchNs;
  const inSw = (...argv: string[]): Command => ['ip', 'netns', 'exec', sw, ...argv];
  const tried = (cmd: Command, undo: Command) => {
    const ok = succeeds(cmd);
    if (ok) succeeds(undo);
    return ok;
  };
  const ipt = (...args: string[]) => inSw('iptables', '-w', ...args);
  const iptablesOk = succeeds(ipt('-N', 'PROBE'));
  const rule = (...args: string[]) => tried(ipt('-A', 'PROBE', ...args), ipt('-F', 'PROBE'));
  const caps: NetbedCapabilities = {
    iptables: iptablesOk,
    randomLoss:
      iptablesOk &&
      rule('-m', 'statistic', '--mode', 'random', '--probability', '0.5', '-j', 'DROP'),
    duplication:
      iptablesOk &&
      succeeds(ipt('-t', 'mangle', '-N', 'PROBE')) &&
      tried(
        ipt('-t', 'mangle', '-A', 'PROBE', '-j', 'TEE', '--gateway', plan.root.address),
        ipt('-t', 'mangle', '-F', 'PROBE'),
      ),
    netem: tried(
      inSw('tc', 'qdisc', 'add', 'dev', 'lo', 'root', 'netem', 'delay', '1ms'),
      inSw('tc', 'qdisc', 'del', 'dev', 'lo', 'root'),
    ),
    throttle: tried(
      inSw(
        'tc',
        'qdisc',
        'add',
        'dev',
        'lo',
        'root',
        'tbf',
        'rate',
        '1mbit',
        'burst',
        '16kb',
        'latency',
        '50ms',
      ),
      inSw('tc', 'qdisc', 'del', 'dev', 'lo', 'root'),
    ),
  };
  if (iptablesOk) {
    succeeds(ipt('-X', 'PROBE'));
    succeeds(ipt('-t', 'mangle', '-X', 'PROBE'));
  }
  return caps;
}
