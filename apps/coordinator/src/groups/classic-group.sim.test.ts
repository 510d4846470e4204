import { ErrorCode, MemberIdRequiredError, type StrandError } from '@strand/wire';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ClassicGroup,
  type ClassicJoinAnswer,
  type Effects,
  type Outcome,
} from './classic-group.js';

/**
 * Kafka-like clients driven against one ClassicGroup by random schedules: they join (v4+,
 * some static), sync (the leader assigns `<generation>:<member>` to everyone), heartbeat,
 * leave, crash and restart. Invariants hold after every step, every outcome answers a call
 * that is waiting, and once the clients that are up behave, the group settles with exactly
 * them, each holding what a leader gave it (`<generation>:<instance or member id>`).
 */

const SESSION = 1000;
const REBALANCE = 3000;
const HEARTBEAT = 250;

interface Client {
  id: number;
  instanceId: string;
  up: boolean;
  memberId: string;
  generation: number;
  waiting: 'join' | 'sync' | null;
  assignment: string | null;
  stable: boolean;
}

type Action =
  | { t: 'join'; c: number }
  | { t: 'heartbeat'; c: number }
  | { t: 'leave'; c: number }
  | { t: 'crash'; c: number }
  | { t: 'restart'; c: number }
  | { t: 'advance'; ms: number };

class Sim {
  readonly g = new ClassicGroup('g', { initialDelayMs: 50 });
  readonly clients: Client[];
  now = 0;
  private ids = 0;
  private lastGeneration = 0;

  constructor(n: number, statics: boolean[]) {
    this.clients = Array.from({ length: n }, (_, id) => ({
      id,
      instanceId: statics[id] ? `instance-${id}` : '',
      up: true,
      memberId: '',
      generation: -1,
      waiting: null,
      assignment: null,
      stable: false,
    }));
  }

  step(a: Action): void {
    if (a.t === 'advance') {
      this.now += a.ms;
      this.deliver(this.g.tick(this.now));
    } else {
      const c = this.clients[a.c]!;
      if (a.t === 'crash') Object.assign(c, { up: false, waiting: null, stable: false });
      else if (a.t === 'restart' && !c.up)
        Object.assign(c, { up: true, memberId: '', generation: -1, assignment: null });
      else if (c.up && a.t === 'join' && c.waiting === null) this.join(c);
      else if (c.up && a.t === 'heartbeat' && c.waiting === null && c.generation > 0)
        this.heartbeat(c);
      else if (c.up && a.t === 'leave' && c.memberId && !c.instanceId) {
        this.deliver(this.g.leave([{ memberId: c.memberId, instanceId: '' }], this.now));
        Object.assign(c, { memberId: '', generation: -1, waiting: null, stable: false });
      }
    }
    this.check();
  }

  /** Clients that are up do what Kafka clients do until the group settles. */
  settle(): void {
    for (let i = 0; i < 200; i++) {
      for (const c of this.clients) {
        if (!c.up || c.waiting) continue;
        if (!c.stable) this.join(c);
        else this.heartbeat(c);
      }
      this.now += HEARTBEAT;
      this.deliver(this.g.tick(this.now));
      this.check();
    }
  }

  private join(c: Client): void {
    c.stable = false;
    try {
      const r = this.g.join(
        {
          memberId: c.memberId,
          instanceId: c.instanceId,
          clientId: `c${c.id}`,
          clientHost: '/127.0.0.1',
          sessionTimeoutMs: SESSION,
          rebalanceTimeoutMs: REBALANCE,
          protocolType: 'consumer',
          protocols: [{ name: 'range', metadata: Buffer.from(`c${c.id}`) }],
          requireKnownMemberId: true,
        },
        this.now,
        () => `m${++this.ids}`,
      );
      c.memberId = r.memberId;
      c.waiting = 'join';
      this.deliver(r);
    } catch (err) {
      if (err instanceof MemberIdRequiredError) c.memberId = err.memberId;
      else this.failed(c, err as StrandError);
    }
  }

  private heartbeat(c: Client): void {
    try {
      this.g.heartbeat(c.memberId, c.instanceId, c.generation, this.now);
    } catch (err) {
      this.failed(c, err as StrandError);
    }
  }

  private sync(c: Client, answer: ClassicJoinAnswer): void {
    const assignments = new Map(
      answer.members.map((m) => [
        m.memberId,
        Buffer.from(`${answer.generation}:${m.instanceId || m.memberId}`),
      ]),
    );
    try {
      c.waiting = 'sync';
      this.deliver(
        this.g.sync(
          {
            memberId: c.memberId,
            instanceId: c.instanceId,
            generation: c.generation,
            protocolType: 'consumer',
            protocol: answer.protocol,
            assignments,
          },
          this.now,
        ),
      );
    } catch (err) {
      c.waiting = null;
      this.failed(c, err as StrandError);
    }
  }

  private failed(c: Client, err: StrandError): void {
    c.stable = false;
    if (err.code === ErrorCode.FencedInstanceId) c.up = false; // a zombie stops
    if (err.code === ErrorCode.UnknownMemberId) c.memberId = '';
  }

  private deliver(fx: Effects): void {
    for (const o of fx.outcomes) this.answer(o);
  }

  private answer(o: Outcome): void {
    const c = this.clients.find((x) => x.up && x.memberId === o.memberId && x.waiting === o.call);
    // A crashed client's call has no one waiting; a live one's must be waiting for exactly this.
    if (!c) {
      const live = this.clients.find((x) => x.up && x.memberId === o.memberId);
      expect(live?.waiting ?? null, `${o.call} outcome for ${o.memberId}`).toBe(null);
      return;
    }
    c.waiting = null;
    if ('error' in o) this.failed(c, o.error);
    else if (o.call === 'join') {
      c.generation = o.answer.generation;
      expect(o.answer.members.length > 0).toBe(o.answer.leaderId === c.memberId);
      this.sync(c, o.answer);
    } else {
      c.assignment = o.answer.assignment.toString();
      c.stable = true;
    }
  }

  private check(): void {
    const g = this.g;
    expect(g.generation).toBeGreaterThanOrEqual(this.lastGeneration);
    this.lastGeneration = g.generation;
    expect(g.state === 'EMPTY').toBe(g.members.size === 0);
    if (g.state === 'COMPLETING_REBALANCE' || g.state === 'STABLE')
      expect(g.members.has(g.leader)).toBe(true);
    const instances = [...g.members.values()].map((m) => m.instanceId).filter(Boolean);
    expect(new Set(instances).size).toBe(instances.length);
  }
}

const action = (n: number): fc.Arbitrary<Action> =>
  fc.oneof(
    fc.record({ t: fc.constant('join' as const), c: fc.nat(n - 1) }),
    fc.record({ t: fc.constant('heartbeat' as const), c: fc.nat(n - 1) }),
    fc.record({ t: fc.constant('leave' as const), c: fc.nat(n - 1) }),
    fc.record({ t: fc.constant('crash' as const), c: fc.nat(n - 1) }),
    fc.record({ t: fc.constant('restart' as const), c: fc.nat(n - 1) }),
    fc.record({ t: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 1500 }) }),
  );

describe('ClassicGroup under random schedules', () => {
  it('keeps its invariants and settles with exactly the live clients', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 5 })
          .chain((n) =>
            fc.tuple(
              fc.constant(n),
              fc.array(fc.boolean(), { minLength: n, maxLength: n }),
              fc.array(action(n), { maxLength: 60 }),
            ),
          ),
        ([n, statics, actions]) => {
          const sim = new Sim(n, statics);
          for (const a of actions) sim.step(a);
          sim.settle();
          const live = sim.clients.filter((c) => c.up);
          const g = sim.g;
          if (live.length === 0) return;
          expect(g.state).toBe('STABLE');
          expect([...g.members.keys()].sort()).toEqual(live.map((c) => c.memberId).sort());
          for (const c of live) {
            expect(c.stable).toBe(true);
            expect(c.generation).toBe(g.generation);
            // A static member back under a new id keeps what it had: no rebalance.
            if (c.instanceId) expect(c.assignment).toMatch(new RegExp(`^\\d+:${c.instanceId}$`));
            else expect(c.assignment).toBe(`${g.generation}:${c.memberId}`);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
