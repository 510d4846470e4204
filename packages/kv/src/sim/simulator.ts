import { decodeConfChange, RaftNode } from '../raft/raft.js';
import {
  type ConfState,
  type Entry,
  EntryType,
  type HardState,
  type Message,
  type ReadState,
  type Ready,
  Role,
  type Snapshot,
} from '../raft/types.js';
import { EventHeap } from './heap.js';
import { SafetyChecker } from './invariants.js';
import { type MemberNode, MembershipOperator } from './membership-ops.js';
import { Rng } from './prng.js';

export type SimInput =
  | { op: 'put'; key: string; value: string }
  | { op: 'get'; key: string }
  | { op: 'cas'; key: string; expected: string | null; value: string };
export type SimOutput = { value: string | null } | { ok: boolean } | Record<string, never>;
export interface SimOperation {
  client: number;
  input: SimInput;
  output?: SimOutput;
  call: number;
  ret?: number;
}

export interface Faults {
  drop: number;
  duplicate: number;
  maxDelayMs: number;
  /** Mean ms between network changes (partitions, heals); 0 = never. */
  partitionEveryMs: number;
  /** Mean ms between crashes; 0 = never. */
  crashEveryMs: number;
}

export interface SimOptions {
  seed: number;
  nodes?: number;
  durationMs?: number;
  clients?: number;
  keys?: number;
  snapshotEvery?: number;
  faults?: Faults;
  /**
   * Mean ms between membership changes an operator asks of the leader (add a spare node as a
   * learner, promote a learner, remove a member); 0 = never (the default).
   */
  membershipEveryMs?: number;
  /** Nodes that are not members at first, for the operator to add (default 2). */
  spares?: number;
}

export interface SimResult {
  history: SimOperation[];
  faults: Faults;
  stats: {
    committed: number;
    leaders: number;
    crashes: number;
    partitions: number;
    messages: number;
    dropped: number;
    /** Membership changes proposed / refused by the leader's checks / applied by a leader. */
    confProposed: number;
    confRefused: number;
    confApplied: number;
  };
}

/** Fault rates drawn from the seed, so every seed explores a different mix. */
export function randomFaults(rng: Rng): Faults {
  return {
    drop: rng.chance(0.3) ? 0 : rng.next() * 0.2,
    duplicate: rng.next() * 0.1,
    maxDelayMs: rng.int(1, 40),
    partitionEveryMs: rng.chance(0.2) ? 0 : rng.int(100, 600),
    crashEveryMs: rng.chance(0.3) ? 0 : rng.int(150, 800),
  };
}

const TICK_MS = 10;
const CLIENT_TIMEOUT_MS = 300;

interface Disk {
  hardState: HardState;
  entries: Entry[];
  snapshot?: Snapshot;
  confState: ConfState;
}

interface Pending {
  client: number;
  op: SimOperation;
}

interface SimNode {
  id: number;
  raft?: RaftNode;
  disk: Disk;
  sm: Map<string, string>;
  applied: number;
  proposals: Map<string, Pending>;
  reads: Map<string, Pending & { index?: number }>;
}

type Event = { kind: 'deliver'; msg: Message } | { kind: 'timeout'; client: number; opId: number };

const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * A whole Raft cluster in one process on a virtual clock: seeded, repeatable, with a network
 * that drops, duplicates, delays and reorders messages and partitions nodes (symmetric,
 * one-way, rolling), and crashes that lose whatever was not synced. Safety properties are
 * checked after every step; the client history is returned for a linearizability check.
 */
export class Simulation {
  readonly rng: Rng;
  readonly faults: Faults;
  private now = 0;
  private readonly nodes: SimNode[] = [];
  private readonly net = new EventHeap<Event>();
  private readonly blocked = new Set<string>();
  private readonly checker = new SafetyChecker();
  private readonly history: SimOperation[] = [];
  private readonly clientBusy: (SimOperation | undefined)[] = [];
  private readonly clientNext: number[] = [];
  private readonly clientLeaderGuess: number[] = [];
  private opCounter = 0;
  private readonly stats = {
    committed: 0,
    leaders: 0,
    crashes: 0,
    partitions: 0,
    messages: 0,
    dropped: 0,
    confProposed: 0,
    confRefused: 0,
    confApplied: 0,
  };
  private readonly operator: MembershipOperator | undefined;
  private nextNetworkChange: number;
  private nextCrash: number;
  private readonly ids: number[];

  constructor(private readonly opts: SimOptions) {
    this.rng = new Rng(opts.seed);
    this.faults = opts.faults ?? randomFaults(this.rng);
    const voters = Array.from({ length: opts.nodes ?? 3 }, (_, i) => i + 1);
    const spares = opts.membershipEveryMs ? (opts.spares ?? 2) : 0;
    this.ids = Array.from({ length: voters.length + spares }, (_, i) => i + 1);
    for (const id of this.ids) {
      const node: SimNode = {
        id,
        disk: {
          hardState: { term: 0, vote: 0, commit: 0 },
          entries: [],
          // A spare joins as a learner of the voters (what it is told when it is added).
          confState: id <= voters.length ? { voters, learners: [] } : { voters, learners: [id] },
        },
        sm: new Map(),
        applied: 0,
        proposals: new Map(),
        reads: new Map(),
      };
      this.nodes.push(node);
      if (id <= voters.length) this.boot(node);
    }
    if (opts.membershipEveryMs)
      this.operator = new MembershipOperator(this.rng, opts.membershipEveryMs, {
        spares: this.ids.filter((id) => id > voters.length),
        boot: (id, conf) => {
          const n = this.nodes[id - 1]!;
          n.disk.confState = conf;
          this.boot(n);
        },
        proposed: (refused) => {
          this.stats.confProposed += 1;
          if (refused) this.stats.confRefused += 1;
        },
      });
    for (let c = 0; c < (opts.clients ?? 4); c++) {
      this.clientBusy.push(undefined);
      this.clientNext.push(this.rng.int(0, 50));
      this.clientLeaderGuess.push(this.rng.pick(this.ids));
    }
    this.nextNetworkChange = this.faults.partitionEveryMs
      ? this.rng.int(50, this.faults.partitionEveryMs * 2)
      : Number.POSITIVE_INFINITY;
    this.nextCrash = this.faults.crashEveryMs
      ? this.rng.int(50, this.faults.crashEveryMs * 2)
      : Number.POSITIVE_INFINITY;
  }

  /** Runs the faulty phase, then heals everything and lets the cluster converge. */
  run(): SimResult {
    const duration = this.opts.durationMs ?? 1500;
    while (this.now < duration) this.step(true);
    this.blocked.clear();
    for (const n of this.nodes) if (!n.raft && this.operator?.started(n.id) !== false) this.boot(n);
    const settleUntil = this.now + 1500;
    while (this.now < settleUntil) this.step(false);
    this.checkConvergence();
    return { history: this.history, faults: this.faults, stats: this.stats };
  }

  private step(faulty: boolean): void {
    this.now += 1;
    while (this.net.peekTime() <= this.now) {
      const ev = this.net.pop()!;
      if (ev.kind === 'deliver') this.deliver(ev.msg);
      else this.clientTimeout(ev.client, ev.opId);
    }
    for (const n of this.nodes) {
      if (n.raft && (this.now + n.id * 3) % TICK_MS === 0) n.raft.tick();
    }
    if (faulty) this.injectFaults();
    if (faulty) this.operator?.step(this.now, this.nodes as MemberNode[]);
    this.runClients(faulty);
    for (const n of this.nodes) this.handleReady(n);
    const live = this.nodes.flatMap((n) => (n.raft ? [n.raft] : []));
    this.checker.observe(live);
    this.checker.checkCommitQuorum(live);
    if (this.now % 50 === 0) this.checker.checkLogMatching(live);
  }

  // ---- nodes, disks and the driver loop ----

  private boot(n: SimNode): void {
    const snap = n.disk.snapshot;
    n.raft = new RaftNode({
      id: n.id,
      electionTick: 10,
      heartbeatTick: 1,
      random: this.rng.next,
      initial: {
        hardState: n.disk.hardState,
        entries: n.disk.entries,
        confState: n.disk.confState,
        ...(snap ? { snapshot: snap } : {}),
      },
      applied: snap?.metadata.index ?? 0,
      maxSizePerMsg: 4096,
      maxInflightMsgs: 16,
    });
    n.sm = snap ? decodeState(snap.data) : new Map();
    n.applied = snap?.metadata.index ?? 0;
    n.proposals.clear();
    n.reads.clear();
  }

  private crash(n: SimNode): void {
    // Whatever the driver did not sync is gone: only `disk` survives.
    n.raft = undefined;
    n.proposals.clear();
    n.reads.clear();
    this.stats.crashes += 1;
  }

  private handleReady(n: SimNode): void {
    const raft = n.raft;
    if (!raft) return;
    let rounds = 0;
    while (raft.hasReady() && rounds++ < 10) {
      const rd = raft.ready();
      this.persist(n, rd);
      for (const m of rd.messages) this.send(m);
      if (rd.snapshot) {
        n.sm = decodeState(rd.snapshot.data);
        n.applied = rd.snapshot.metadata.index;
      }
      for (const e of rd.committedEntries) this.apply(n, e);
      for (const rs of rd.readStates) this.readReady(n, rs);
      if (rd.softState?.role === Role.Leader) this.stats.leaders += 1;
      raft.advance(rd);
      this.serveReads(n);
      this.maybeSnapshot(n);
    }
  }

  private persist(n: SimNode, rd: Ready): void {
    if (rd.snapshot) {
      n.disk.snapshot = rd.snapshot;
      n.disk.confState = rd.snapshot.metadata.confState;
      n.disk.entries = n.disk.entries.filter((e) => e.index > rd.snapshot!.metadata.index);
    }
    if (rd.entries.length > 0) {
      const first = rd.entries[0]!.index;
      n.disk.entries = n.disk.entries.filter((e) => e.index < first).concat(rd.entries);
    }
    // A hard state that only moved the commit index is written without sync: a crash may lose it.
    if (rd.hardState && (rd.mustSync || this.rng.chance(0.5))) n.disk.hardState = rd.hardState;
  }

  private apply(n: SimNode, e: Entry): void {
    n.applied = e.index;
    this.checker.applyEntry(n.id, e);
    this.stats.committed = Math.max(this.stats.committed, e.index);
    if (e.type === EntryType.ConfChange) {
      const wasLeader = n.raft!.role === Role.Leader;
      // In effect once applied, and durable with it (a restart replays it again).
      n.disk.confState = n.raft!.applyConfChange(decodeConfChange(e.data));
      if (wasLeader) this.stats.confApplied += 1;
      return;
    }
    if (e.data.length === 0) return;
    const cmd = JSON.parse(dec.decode(e.data)) as { id: string; input: SimInput };
    const output = applyCommand(n.sm, cmd.input);
    const pending = n.proposals.get(cmd.id);
    if (pending) {
      n.proposals.delete(cmd.id);
      this.complete(pending, output);
    }
  }

  private maybeSnapshot(n: SimNode): void {
    const raft = n.raft!;
    const every = this.opts.snapshotEvery ?? 40;
    if (n.applied - raft.log.snapshotIndex < every) return;
    const snap: Snapshot = {
      metadata: { index: n.applied, term: raft.log.term(n.applied)!, confState: raft.confState() },
      data: encodeState(n.sm),
    };
    n.disk.snapshot = snap;
    n.disk.entries = n.disk.entries.filter((e) => e.index > n.applied);
    raft.compact(snap);
  }

  // ---- network ----

  private send(m: Message): void {
    this.stats.messages += 1;
    if (this.blocked.has(`${m.from}->${m.to}`) || this.rng.chance(this.faults.drop)) {
      this.stats.dropped += 1;
      return;
    }
    const copies = this.rng.chance(this.faults.duplicate) ? 2 : 1;
    for (let i = 0; i < copies; i++)
      this.net.push(this.now + this.rng.int(1, this.faults.maxDelayMs), {
        kind: 'deliver',
        msg: m,
      });
  }

  private deliver(m: Message): void {
    const to = this.nodes[m.to - 1];
    if (!to?.raft || this.blocked.has(`${m.from}->${m.to}`)) return;
    to.raft.step(m);
  }

  private injectFaults(): void {
    if (this.now >= this.nextNetworkChange) {
      this.nextNetworkChange = this.now + this.rng.int(1, this.faults.partitionEveryMs * 2);
      this.changeNetwork();
    }
    if (this.now >= this.nextCrash) {
      this.nextCrash = this.now + this.rng.int(1, this.faults.crashEveryMs * 2);
      const victim = this.rng.pick(this.nodes);
      if (victim.raft) this.crash(victim);
      else if (this.operator?.started(victim.id) !== false) this.boot(victim);
    }
    // Crashed nodes come back after a while.
    for (const n of this.nodes)
      if (!n.raft && this.operator?.started(n.id) !== false && this.rng.chance(0.01)) this.boot(n);
  }

  private changeNetwork(): void {
    this.blocked.clear();
    this.stats.partitions += 1;
    const kind = this.rng.int(0, 4);
    const cut = (a: number, b: number) => {
      this.blocked.add(`${a}->${b}`);
    };
    const cutBoth = (a: number, b: number) => {
      cut(a, b);
      cut(b, a);
    };
    const shuffled = [...this.ids].sort(() => this.rng.next() - 0.5);
    if (kind === 1) {
      // Isolate one node.
      const x = shuffled[0]!;
      for (const y of this.ids) if (y !== x) cutBoth(x, y);
    } else if (kind === 2) {
      // Split into a minority and a majority.
      const minority = shuffled.slice(0, Math.floor(this.ids.length / 2));
      for (const a of minority) for (const b of this.ids) if (!minority.includes(b)) cutBoth(a, b);
    } else if (kind === 3) {
      // Asymmetric: one node can send but not receive (or the reverse).
      const x = shuffled[0]!;
      const inbound = this.rng.chance(0.5);
      for (const y of this.ids) if (y !== x) cut(inbound ? y : x, inbound ? x : y);
    } else if (kind === 4) {
      // Rolling: a ring where each node reaches only its successor.
      for (let i = 0; i < shuffled.length; i++) {
        for (let j = 0; j < shuffled.length; j++)
          if (j !== i && j !== (i + 1) % shuffled.length) cut(shuffled[i]!, shuffled[j]!);
      }
    }
  }

  // ---- clients ----

  private runClients(faulty: boolean): void {
    for (let c = 0; c < this.clientBusy.length; c++) {
      if (this.clientBusy[c] || this.now < this.clientNext[c]!) continue;
      if (!faulty && this.rng.chance(0.5)) continue;
      this.startOp(c);
    }
  }

  private startOp(c: number): void {
    const key = `k${this.rng.int(0, (this.opts.keys ?? 3) - 1)}`;
    const roll = this.rng.next();
    const value = `v${++this.opCounter}`;
    const input: SimInput =
      roll < 0.4
        ? { op: 'put', key, value }
        : roll < 0.75
          ? { op: 'get', key }
          : {
              op: 'cas',
              key,
              expected: this.rng.chance(0.5) ? null : `v${this.rng.int(1, this.opCounter)}`,
              value,
            };
    const guess = this.clientLeaderGuess[c]!;
    const node = this.rng.chance(0.8) ? this.nodes[guess - 1]! : this.rng.pick(this.nodes);
    const raft = node.raft;
    const retry = () => {
      this.clientNext[c] = this.now + this.rng.int(5, 20);
      this.clientLeaderGuess[c] = raft?.leader || this.rng.pick(this.ids);
    };
    if (!raft) {
      retry();
      return;
    }
    const op: SimOperation = { client: c, input, call: this.now };
    const id = `${c}:${this.opCounter}:${this.now}`;
    try {
      if (input.op === 'get') {
        raft.readIndex(enc.encode(id));
        node.reads.set(id, { client: c, op });
      } else {
        raft.propose(enc.encode(JSON.stringify({ id, input })));
        node.proposals.set(id, { client: c, op });
      }
    } catch {
      retry(); // rejected before anything was sent: not part of the history
      return;
    }
    this.history.push(op);
    this.clientBusy[c] = op;
    this.net.push(this.now + CLIENT_TIMEOUT_MS, {
      kind: 'timeout',
      client: c,
      opId: this.history.length - 1,
    });
  }

  private complete(p: Pending, output: SimOutput): void {
    if (this.clientBusy[p.client] !== p.op || p.op.ret !== undefined) return;
    p.op.output = output;
    p.op.ret = this.now;
    this.clientBusy[p.client] = undefined;
    this.clientNext[p.client] = this.now + this.rng.int(0, 10);
  }

  private clientTimeout(c: number, opId: number): void {
    const op = this.history[opId]!;
    if (this.clientBusy[c] !== op) return;
    // Never answered: the op stays in the history without a return (it may have happened).
    this.clientBusy[c] = undefined;
    this.clientNext[c] = this.now + this.rng.int(0, 10);
    this.clientLeaderGuess[c] = this.rng.pick(this.ids);
  }

  private readReady(n: SimNode, rs: ReadState): void {
    const read = n.reads.get(dec.decode(rs.context));
    if (read) read.index = rs.index;
  }

  private serveReads(n: SimNode): void {
    for (const [id, read] of n.reads) {
      if (read.index === undefined || n.applied < read.index) continue;
      n.reads.delete(id);
      const key = (read.op.input as { key: string }).key;
      this.complete(read, { value: n.sm.get(key) ?? null });
    }
  }

  private checkConvergence(): void {
    const live = this.nodes.filter((n) => n.raft);
    const maxApplied = Math.max(...live.map((n) => n.applied));
    const caughtUp = live.filter((n) => n.applied === maxApplied);
    const states = new Set(caughtUp.map((n) => JSON.stringify([...n.sm].sort())));
    if (states.size > 1) throw new Error(`state machines differ at applied index ${maxApplied}`);
  }
}

export function applyCommand(sm: Map<string, string>, input: SimInput): SimOutput {
  switch (input.op) {
    case 'put':
      sm.set(input.key, input.value);
      return {};
    case 'get':
      return { value: sm.get(input.key) ?? null };
    case 'cas': {
      const ok = (sm.get(input.key) ?? null) === input.expected;
      if (ok) sm.set(input.key, input.value);
      return { ok };
    }
  }
}

function encodeState(sm: Map<string, string>): Uint8Array {
  return enc.encode(JSON.stringify([...sm]));
}

function decodeState(data: Uint8Array): Map<string, string> {
  return new Map(JSON.parse(dec.decode(data)) as [string, string][]);
}

/** Runs one seed; throws (with the seed in the message) on any violated invariant. */
export function simulate(opts: SimOptions): SimResult {
  try {
    return new Simulation(opts).run();
  } catch (err) {
    const e = err as Error;
    e.message = `seed ${opts.seed}: ${e.message} (replay: cd packages/kv && STRAND_SEED=${opts.seed} npx vitest run src/sim)`;
    throw e;
  }
}
