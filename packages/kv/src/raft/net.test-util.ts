import { prng } from '../sim/prng.js';
import { RaftNode } from './raft.js';
import type { Entry, Message, MessageType, ReadState, Snapshot } from './types.js';

/**
 * A synchronous in-memory network for core tests: `settle()` delivers every message until
 * none is left, dropping those a filter rejects. Disks are perfect; apply is recorded.
 */
export class TestNet {
  readonly nodes = new Map<number, RaftNode>();
  readonly applied = new Map<number, Entry[]>();
  readonly readStates = new Map<number, ReadState[]>();
  readonly cut = new Set<string>();
  delivered = 0;
  private queue: Message[] = [];

  constructor(
    ids: number[],
    opts: { preVote?: boolean; checkQuorum?: boolean; seed?: number } = {},
  ) {
    ids.forEach((id) => {
      this.add(id, ids, opts);
    });
  }

  add(
    id: number,
    voters: number[],
    opts: { preVote?: boolean; checkQuorum?: boolean; seed?: number; learners?: number[] } = {},
  ): RaftNode {
    const node = new RaftNode({
      id,
      voters,
      ...(opts.learners ? { learners: opts.learners } : {}),
      electionTick: 10,
      heartbeatTick: 1,
      random: prng((opts.seed ?? 7) * 100 + id),
      preVote: opts.preVote ?? true,
      checkQuorum: opts.checkQuorum ?? true,
    });
    this.nodes.set(id, node);
    this.applied.set(id, []);
    this.readStates.set(id, []);
    return node;
  }

  node(id: number): RaftNode {
    return this.nodes.get(id)!;
  }

  isolate(id: number): void {
    for (const other of this.nodes.keys()) {
      if (other === id) continue;
      this.cut.add(`${id}->${other}`);
      this.cut.add(`${other}->${id}`);
    }
  }

  heal(): void {
    this.cut.clear();
  }

  /** Drains every node's Ready, then delivers until the network is quiet. */
  settle(limit = 10_000): void {
    for (let i = 0; i < limit; i++) {
      for (const [id, n] of this.nodes) {
        while (n.hasReady()) {
          const rd = n.ready();
          for (const m of rd.messages) this.queue.push(m);
          this.applied
            .get(id)!
            .push(...rd.committedEntries.filter((e) => e.data.length > 0 || e.type !== 0));
          this.readStates.get(id)!.push(...rd.readStates);
          n.advance(rd);
        }
      }
      const m = this.queue.shift();
      if (!m) return;
      if (this.cut.has(`${m.from}->${m.to}`)) continue;
      this.delivered += 1;
      this.nodes.get(m.to)?.step(m);
    }
    throw new Error('network did not settle');
  }

  /** Ticks every node `n` times, settling after each tick. */
  tick(n = 1): void {
    for (let i = 0; i < n; i++) {
      for (const node of this.nodes.values()) node.tick();
      this.settle();
    }
  }

  elect(id: number): void {
    this.node(id).campaign();
    this.settle();
  }

  /** Ticks until some node other than `excluded` leads (leases must expire first). */
  awaitLeader(excluded: number[] = [], maxTicks = 100): RaftNode {
    for (let i = 0; i < maxTicks; i++) {
      const l = this.leaders().find((n) => !excluded.includes(n.id));
      if (l) return l;
      this.tick();
    }
    throw new Error('no leader elected');
  }

  leaders(): RaftNode[] {
    return [...this.nodes.values()].filter((n) => n.role === 'leader');
  }

  propose(id: number, text: string): void {
    this.node(id).propose(new TextEncoder().encode(text));
    this.settle();
  }

  appliedText(id: number): string[] {
    return this.applied
      .get(id)!
      .filter((e) => e.data.length > 0)
      .map((e) => new TextDecoder().decode(e.data));
  }

  snapshotOf(id: number, data: string): Snapshot {
    const n = this.node(id);
    return {
      metadata: {
        index: n.log.applied,
        term: n.log.term(n.log.applied)!,
        confState: n.confState(),
      },
      data: new TextEncoder().encode(data),
    };
  }

  countType(type: MessageType): number {
    return this.queue.filter((m) => m.type === type).length;
  }
}
