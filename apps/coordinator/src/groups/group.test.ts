import { ErrorCode } from '@strand/wire';
import { describe, expect, it } from 'vitest';
import type { AssignorName } from './assignors.js';
import { code } from './codes.test-util.js';
import { Group, type MemberMeta } from './group.js';

const catalog = new Map([
  ['orders', 12],
  ['audit-a', 2],
  ['audit-b', 2],
]);

let ids = 0;
const newId = () => `m-${++ids}`;

const meta = (over: Partial<MemberMeta> = {}): MemberMeta => ({
  memberId: '',
  instanceId: '',
  clientId: 'test',
  sessionTimeoutMs: 1000,
  rebalanceTimeoutMs: 5000,
  subscription: { topics: ['orders'], pattern: '', patternFlags: '' },
  assignors: ['range'],
  ...over,
});

/** Joins `n` members into a fresh group and completes its first generation. */
function stableGroup(n: number, assignors: AssignorName[] = ['range']) {
  const g = new Group('g', { initialDelayMs: 100 });
  const members = Array.from({ length: n }, () => g.join(meta({ assignors }), 0, newId).memberId);
  expect(g.tick(50, catalog).completed).toBeUndefined(); // the initial delay holds it
  const done = g.tick(100, catalog).completed!;
  expect(done.size).toBe(n);
  return { g, members };
}

const owned = (g: Group) =>
  [...g.members.values()].flatMap((m) => m.assignment.map((tp) => `${tp.topic}/${tp.partition}`));

describe('Group', () => {
  it('completes a first generation once the initial delay passed, every partition once', () => {
    const { g, members } = stableGroup(3);
    expect(g.state).toBe('STABLE');
    expect(g.generation).toBe(1);
    expect(new Set(owned(g)).size).toBe(12);
    expect(owned(g)).toHaveLength(12);
    for (const id of members) expect(g.sync(id, 1)).toHaveLength(4);
  });

  it('a new member starts a rebalance; heartbeats say so; it completes when all rejoined', () => {
    const { g, members } = stableGroup(2);
    const { memberId: c } = g.join(meta(), 200, newId);
    expect(g.state).toBe('PREPARING_REBALANCE');
    expect(code(() => g.heartbeat(members[0]!, 1, 210))).toBe(ErrorCode.RebalanceInProgress);
    expect(g.tick(220, catalog).completed).toBeUndefined();
    for (const id of members)
      expect(g.join(meta({ memberId: id }), 230, newId).answer).toBeUndefined();
    const done = g.tick(240, catalog).completed!;
    expect([...done.keys()].sort()).toEqual([...members, c].sort());
    expect(g.generation).toBe(2);
    expect(code(() => g.sync(c, 1))).toBe(ErrorCode.StaleGeneration);
    expect(g.sync(c, 2)).toHaveLength(4);
  });

  it('a rejoin with nothing new while stable answers at once, no rebalance', () => {
    const { g, members } = stableGroup(2);
    const r = g.join(meta({ memberId: members[0]! }), 300, newId);
    expect(r.answer).toMatchObject({ generation: 1, memberId: members[0] });
    expect(g.state).toBe('STABLE');
  });

  it('expired sessions leave and the rest rebalance; members that do not rejoin in time are dropped', () => {
    const { g, members } = stableGroup(3);
    g.heartbeat(members[0]!, 1, 900);
    g.heartbeat(members[1]!, 1, 900);
    g.tick(1200, catalog); // members[2] last seen at 100: expired
    expect(g.members.has(members[2]!)).toBe(false);
    expect(g.state).toBe('PREPARING_REBALANCE');
    g.join(meta({ memberId: members[0]! }), 1300, newId);
    const done = g.tick(1300 + 5000, catalog).completed!;
    expect([...done.keys()]).toEqual([members[0]]);
    expect(g.sync(members[0]!, 2)).toHaveLength(12);
  });

  it('commits: the current generation only; outsiders only while the group is empty', () => {
    const { g, members } = stableGroup(1);
    expect(code(() => g.checkCommit(members[0]!, 1))).toBeUndefined();
    expect(code(() => g.checkCommit(members[0]!, 0))).toBe(ErrorCode.StaleGeneration);
    expect(code(() => g.checkCommit('nobody', 1))).toBe(ErrorCode.UnknownMemberId);
    expect(code(() => g.checkCommit('', 0))).toBe(ErrorCode.UnknownMemberId);
    expect(g.leave(members[0]!, 500)).toBe(true);
    expect(g.state).toBe('EMPTY');
    expect(code(() => g.checkCommit('', 0))).toBeUndefined();
  });

  it('static membership: the same instance rejoining under a new id keeps its place, no rebalance', () => {
    const g = new Group('g', { initialDelayMs: 0 });
    const a = g.join(meta({ instanceId: 'a' }), 0, newId).memberId;
    g.join(meta({ instanceId: 'b' }), 0, newId);
    g.tick(1, catalog);
    const before = g.sync(a, 1);
    const again = g.join(meta({ instanceId: 'a' }), 500, newId);
    expect(again.dirty).toBe(true);
    expect(again.answer?.generation).toBe(1);
    expect(again.memberId).not.toBe(a);
    expect(g.sync(again.memberId, 1)).toEqual(before);
    expect(code(() => g.heartbeat(a, 1, 600))).toBe(ErrorCode.UnknownMemberId);
    expect(g.state).toBe('STABLE');
  });

  it('survives a restore from its record: same generation, members and assignment', () => {
    const { g, members } = stableGroup(3);
    const r = Group.restore(JSON.parse(JSON.stringify(g.record())), { initialDelayMs: 100 }, 5000);
    expect(r.state).toBe('STABLE');
    expect(r.generation).toBe(1);
    for (const id of members) expect(r.sync(id, 1)).toEqual(g.sync(id, 1));
    r.heartbeat(members[0]!, 1, 5500); // a full session from the restore
    expect(r.tick(5900, catalog).completed).toBeUndefined();
    expect(r.state).toBe('STABLE');
  });

  it('cooperative-sticky: a new member gets moved partitions only in the follow-up generation', () => {
    const { g, members } = stableGroup(2, ['cooperative-sticky']);
    const before = new Map(members.map((id) => [id, g.sync(id, 1)]));
    const c = g.join(meta({ assignors: ['cooperative-sticky'] }), 200, newId).memberId;
    for (const id of members)
      g.join(meta({ memberId: id, assignors: ['cooperative-sticky'] }), 210, newId);
    g.tick(220, catalog);
    expect(g.generation).toBe(2);
    expect(g.sync(c, 2)).toHaveLength(0); // held back until the old owners gave them up
    for (const id of members) {
      const now = g.sync(id, 2);
      expect(now.length).toBe(4);
      for (const tp of now) expect(before.get(id)).toContainEqual(tp); // nothing new, only revoked
    }
    g.tick(230, catalog); // the follow-up rebalance starts
    expect(g.state).toBe('PREPARING_REBALANCE');
    for (const id of [...members, c])
      g.join(meta({ memberId: id, assignors: ['cooperative-sticky'] }), 240, newId);
    g.tick(250, catalog);
    expect(g.generation).toBe(3);
    expect(g.sync(c, 3)).toHaveLength(4);
    expect(new Set(owned(g)).size).toBe(12);
    g.tick(260, catalog);
    expect(g.state).toBe('STABLE');
  });

  it('patterns: a topic created later that matches starts a rebalance', () => {
    const g = new Group('g', { initialDelayMs: 0 });
    const a = g.join(
      meta({ subscription: { topics: [], pattern: '^audit-', patternFlags: '' } }),
      0,
      newId,
    ).memberId;
    g.tick(1, catalog);
    expect(g.sync(a, 1).map((tp) => tp.topic)).toEqual([
      'audit-a',
      'audit-a',
      'audit-b',
      'audit-b',
    ]);
    g.tick(2, new Map([...catalog, ['audit-c', 1]]));
    expect(g.state).toBe('PREPARING_REBALANCE');
  });

  it('refuses a member with no assignor in common', () => {
    const { g } = stableGroup(1, ['range']);
    expect(code(() => g.join(meta({ assignors: ['round-robin'] }), 10, newId))).toBe(
      ErrorCode.InvalidRequest,
    );
  });
});
