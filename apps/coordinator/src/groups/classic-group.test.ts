import { ErrorCode, MemberIdRequiredError } from '@strand/wire';
import { describe, expect, it } from 'vitest';
import {
  ClassicGroup,
  type ClassicJoin,
  type ClassicJoinAnswer,
  type ClassicRecord,
  type Effects,
  type Protocol,
} from './classic-group.js';
import { code } from './codes.test-util.js';
import { ClassicRecordSchema, classicRecordJson } from './records.js';

let ids = 0;
const newId = () => `m-${++ids}`;
const proto = (name: string, meta = name): Protocol => ({ name, metadata: Buffer.from(meta) });

const req = (over: Partial<ClassicJoin> = {}): ClassicJoin => ({
  memberId: '',
  instanceId: '',
  clientId: 'test',
  clientHost: '/127.0.0.1',
  sessionTimeoutMs: 1000,
  rebalanceTimeoutMs: 5000,
  protocolType: 'consumer',
  protocols: [proto('range')],
  requireKnownMemberId: false,
  ...over,
});

const joins = (fx: Effects) =>
  new Map(
    fx.outcomes.flatMap((o) =>
      o.call === 'join' && 'answer' in o ? [[o.memberId, o.answer as ClassicJoinAnswer]] : [],
    ),
  );
const syncs = (fx: Effects) =>
  new Map(
    fx.outcomes.flatMap((o) =>
      o.call === 'sync' && 'answer' in o ? [[o.memberId, o.answer.assignment.toString()]] : [],
    ),
  );
const errors = (fx: Effects) =>
  fx.outcomes.flatMap((o) => ('error' in o ? [`${o.call}:${o.memberId}:${o.error.code}`] : []));

/** `n` members joined and synced (the leader assigns `a:<id>` to each): generation 1, stable. */
function stableGroup(n: number, over: (i: number) => Partial<ClassicJoin> = () => ({})) {
  const g = new ClassicGroup('g', { initialDelayMs: 100 });
  const members = Array.from({ length: n }, (_, i) => g.join(req(over(i)), 0, newId).memberId);
  expect(joins(g.tick(50))).toEqual(new Map()); // the initial delay holds it
  const done = joins(g.tick(100));
  expect(done.size).toBe(n);
  const leader = g.leader;
  for (const id of members) if (id !== leader) g.sync(sync(g, id), 110);
  const fx = g.sync(
    sync(g, leader, new Map(members.map((id) => [id, Buffer.from(`a:${id}`)]))),
    120,
  );
  expect(fx.persist).toBe(true);
  expect(syncs(fx).size).toBe(n);
  return { g, members, leader, done };
}

const sync = (g: ClassicGroup, memberId: string, assignments = new Map<string, Buffer>()) => ({
  memberId,
  instanceId: g.members.get(memberId)?.instanceId ?? '',
  generation: g.generation,
  protocolType: '',
  protocol: '',
  assignments,
});

describe('ClassicGroup', () => {
  it('JoinGroup v4+: a first join gets MEMBER_ID_REQUIRED with the id to join with', () => {
    const g = new ClassicGroup('g', { initialDelayMs: 0 });
    let err: unknown;
    try {
      g.join(req({ requireKnownMemberId: true }), 0, newId);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MemberIdRequiredError);
    const id = (err as MemberIdRequiredError).memberId;
    expect(g.members.size).toBe(0);
    expect(g.join(req({ memberId: id }), 10, newId).memberId).toBe(id);
    expect(joins(g.tick(10)).get(id)).toMatchObject({ generation: 1, leaderId: id });
    // An id that was never handed out is refused.
    expect(code(() => g.join(req({ memberId: 'made-up' }), 20, newId))).toBe(
      ErrorCode.UnknownMemberId,
    );
  });

  it('a handed-out id holds the rebalance until it joins or its session passes', () => {
    const g = new ClassicGroup('g', { initialDelayMs: 0 });
    const a = g.join(req(), 0, newId).memberId;
    expect(code(() => g.join(req({ requireKnownMemberId: true }), 0, newId))).toBe(
      ErrorCode.MemberIdRequired,
    );
    expect(joins(g.tick(500)).size).toBe(0);
    expect(joins(g.tick(1001)).get(a)?.generation).toBe(1); // the pending id expired
  });

  it('the leader gets every member’s metadata for the chosen protocol; the others none', () => {
    const { done, leader, members } = stableGroup(3, (i) => ({
      protocols: [proto('range', `r${i}`), proto('roundrobin', `rr${i}`)],
    }));
    const l = done.get(leader)!;
    expect(l.protocol).toBe('range');
    expect(l.members.map((m) => m.metadata.toString()).sort()).toEqual(['r0', 'r1', 'r2']);
    for (const id of members) if (id !== leader) expect(done.get(id)!.members).toEqual([]);
    expect(new Set([...done.values()].map((a) => a.generation))).toEqual(new Set([1]));
  });

  it('the vote: what every member supports, by most first choices', () => {
    const g = new ClassicGroup('g', { initialDelayMs: 0 });
    g.join(req({ protocols: [proto('range'), proto('roundrobin'), proto('sticky')] }), 0, newId);
    g.join(req({ protocols: [proto('roundrobin'), proto('range')] }), 0, newId);
    g.join(req({ protocols: [proto('roundrobin'), proto('range')] }), 0, newId);
    g.tick(1);
    expect(g.protocol).toBe('roundrobin');
  });

  it('INCONSISTENT_GROUP_PROTOCOL for another protocol type, no protocol in common, or none', () => {
    const { g } = stableGroup(1);
    expect(code(() => g.join(req({ protocolType: 'connect' }), 200, newId))).toBe(
      ErrorCode.InconsistentGroupProtocol,
    );
    expect(code(() => g.join(req({ protocols: [proto('sticky')] }), 200, newId))).toBe(
      ErrorCode.InconsistentGroupProtocol,
    );
    expect(code(() => g.join(req({ protocols: [] }), 200, newId))).toBe(
      ErrorCode.InconsistentGroupProtocol,
    );
    expect(g.state).toBe('STABLE');
    expect(code(() => g.sync({ ...sync(g, g.leader), protocol: 'roundrobin' }, 210))).toBe(
      ErrorCode.InconsistentGroupProtocol,
    );
  });

  it('SyncGroup: followers wait for the leader; members it did not assign get an empty assignment', () => {
    const g = new ClassicGroup('g', { initialDelayMs: 0 });
    const a = g.join(req(), 0, newId).memberId;
    const b = g.join(req(), 0, newId).memberId;
    g.tick(1);
    const follower = g.leader === a ? b : a;
    const waiting = g.sync(sync(g, follower), 2);
    expect(waiting.outcomes).toEqual([]);
    expect(g.state).toBe('COMPLETING_REBALANCE');
    const fx = g.sync(sync(g, g.leader, new Map([[g.leader, Buffer.from('all')]])), 3);
    expect(g.state).toBe('STABLE');
    expect(fx.persist).toBe(true);
    expect(syncs(fx)).toEqual(
      new Map([
        [g.leader, 'all'],
        [follower, ''],
      ]),
    );
    // Stable: a sync answers at once with what the member has.
    expect(syncs(g.sync(sync(g, g.leader), 4)).get(g.leader)).toBe('all');
  });

  it('heartbeats and syncs: UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS', () => {
    const { g, members } = stableGroup(2);
    const [a, b] = members as [string, string];
    expect(code(() => g.heartbeat('nobody', '', 1, 200))).toBe(ErrorCode.UnknownMemberId);
    expect(code(() => g.heartbeat(a, '', 0, 200))).toBe(ErrorCode.StaleGeneration);
    expect(code(() => g.heartbeat(a, '', 1, 200))).toBeUndefined();
    const c = g.join(req(), 300, newId).memberId;
    expect(g.state).toBe('PREPARING_REBALANCE');
    expect(code(() => g.heartbeat(a, '', 1, 310))).toBe(ErrorCode.RebalanceInProgress);
    expect(code(() => g.sync(sync(g, a), 310))).toBe(ErrorCode.RebalanceInProgress);
    g.join(req({ memberId: a }), 320, newId);
    const done = joins(g.join(req({ memberId: b }), 330, newId));
    expect(done.size).toBe(0);
    const completed = joins(g.tick(340));
    expect([...completed.keys()].sort()).toEqual([a, b, c].sort());
    expect(g.generation).toBe(2);
    expect(code(() => g.sync({ ...sync(g, c), generation: 1 }, 350))).toBe(
      ErrorCode.StaleGeneration,
    );
    expect(code(() => g.heartbeat(c, '', 2, 350))).toBeUndefined(); // completing: fine
  });

  it('a stable rejoin with nothing new is answered at once; the leader’s rejoin rebalances', () => {
    const { g, members, leader } = stableGroup(2);
    const other = members.find((id) => id !== leader)!;
    const fx = g.join(req({ memberId: other }), 200, newId);
    expect(joins(fx).get(other)).toMatchObject({ generation: 1, members: [] });
    expect(g.state).toBe('STABLE');
    g.join(req({ memberId: leader }), 210, newId);
    expect(g.state).toBe('PREPARING_REBALANCE');
  });

  it('expired sessions leave and the rest rebalance; late dynamic members are dropped, static kept', () => {
    const { g, members } = stableGroup(3, (i) => ({ instanceId: i === 2 ? 'static-2' : '' }));
    const [a, b, s] = members as [string, string, string];
    g.heartbeat(a, '', 1, 1000);
    g.heartbeat(b, '', 1, 1000);
    g.heartbeat(s, 'static-2', 1, 1000);
    g.tick(1200); // a, b and s heartbeat in time
    expect(g.state).toBe('STABLE');
    g.heartbeat(a, '', 1, 1900);
    g.heartbeat(s, 'static-2', 1, 1900);
    g.tick(2100); // b was last seen at 1000
    expect(g.members.has(b)).toBe(false);
    expect(g.state).toBe('PREPARING_REBALANCE');
    g.join(req({ memberId: a }), 2200, newId);
    // s is alive (heartbeats, told to rejoin) but slow to rejoin: it keeps its place.
    for (let t = 2500; t <= 7000; t += 500) {
      expect(code(() => g.heartbeat(s, 'static-2', 1, t))).toBe(ErrorCode.RebalanceInProgress);
      g.tick(t);
    }
    const done = joins(g.tick(2100 + 5000));
    expect([...done.keys()]).toEqual([a]);
    expect(g.members.has(s)).toBe(true); // static: kept though it did not rejoin
    expect(
      done
        .get(a)
        ?.members.map((m) => m.memberId)
        .sort(),
    ).toEqual([a, s].sort());
  });

  it('static membership: a restarted instance takes its place under a new id, no rebalance; the old id is fenced', () => {
    const { g, members, leader } = stableGroup(2, (i) => ({ instanceId: `i-${i}` }));
    const [a] = members as [string];
    const before = g.members.get(a)!.assignment.toString();
    const fx = g.join(req({ instanceId: 'i-0' }), 500, newId);
    expect(fx.persist).toBe(true);
    expect(fx.memberId).not.toBe(a);
    const answer = joins(fx).get(fx.memberId)!;
    expect(answer.generation).toBe(1);
    expect(answer.skipAssignment).toBe(a === leader);
    expect(g.state).toBe('STABLE');
    expect(syncs(g.sync(sync(g, fx.memberId), 510)).get(fx.memberId)).toBe(before);
    expect(code(() => g.heartbeat(a, 'i-0', 1, 520))).toBe(ErrorCode.FencedInstanceId);
    expect(code(() => g.checkCommit(a, 1, 520, 'i-0'))).toBe(ErrorCode.FencedInstanceId);
    expect(g.leave([{ memberId: a, instanceId: 'i-0' }], 530).results[0]?.code).toBe(
      ErrorCode.FencedInstanceId,
    );
  });

  it('a static instance with a different protocol choice rebalances instead', () => {
    const { g } = stableGroup(1, () => ({ instanceId: 'i' }));
    g.join(req({ instanceId: 'i', protocols: [proto('roundrobin'), proto('range')] }), 500, newId);
    expect(g.state).toBe('PREPARING_REBALANCE');
  });

  it('LeaveGroup: one answer per member; the last one out empties the group (a new generation)', () => {
    const { g, members } = stableGroup(2, (i) => ({ instanceId: i === 0 ? 'i-0' : '' }));
    const [a, b] = members as [string, string];
    const r = g.leave(
      [
        { memberId: '', instanceId: 'i-0' },
        { memberId: 'nobody', instanceId: '' },
      ],
      200,
    );
    expect(r.results.map((x) => x?.code)).toEqual([undefined, ErrorCode.UnknownMemberId]);
    expect(g.members.has(a)).toBe(false);
    expect(g.state).toBe('PREPARING_REBALANCE');
    const last = g.leave([{ memberId: b, instanceId: '' }], 210);
    expect(last.persist).toBe(true);
    expect(g.state).toBe('EMPTY');
    expect(g.generation).toBe(2);
    expect(g.protocol).toBe('');
  });

  it('a member that leaves while its join waits hears UNKNOWN_MEMBER_ID; a rebalance fails waiting syncs', () => {
    const g = new ClassicGroup('g', { initialDelayMs: 1000 });
    const a = g.join(req(), 0, newId).memberId;
    expect(errors(g.leave([{ memberId: a, instanceId: '' }], 10))).toEqual([
      `join:${a}:${ErrorCode.UnknownMemberId}`,
    ]);
    const { g: h, members } = stableGroup(2);
    h.join(req({ memberId: members[0]! }), 200, newId);
    h.join(req({ memberId: members[1]! }), 200, newId);
    h.tick(200);
    const follower = members.find((id) => id !== h.leader)!;
    h.sync(sync(h, follower), 210);
    expect(errors(h.join(req(), 220, newId))).toEqual([
      `sync:${follower}:${ErrorCode.RebalanceInProgress}`,
    ]);
  });

  it('a leader that never syncs: at the rebalance timeout the members that did not sync leave', () => {
    const g = new ClassicGroup('g', { initialDelayMs: 0 });
    const a = g.join(req(), 0, newId).memberId;
    const b = g.join(req(), 0, newId).memberId;
    g.tick(1);
    const follower = g.leader === a ? b : a;
    g.sync(sync(g, follower), 2);
    for (let t = 500; t <= 5000; t += 500) {
      g.heartbeat(g.leader, '', 1, t); // alive, but it never assigns
      expect(g.tick(t).outcomes).toEqual([]);
    }
    const fx = g.tick(5001);
    expect(errors(fx)).toEqual([`sync:${follower}:${ErrorCode.RebalanceInProgress}`]);
    expect([...g.members.keys()]).toEqual([follower]);
    expect(g.state).toBe('PREPARING_REBALANCE');
  });

  it('commits: the current generation; outsiders (generation < 0) only while empty', () => {
    const { g, members } = stableGroup(1);
    const [a] = members as [string];
    expect(code(() => g.checkCommit(a, 1, 200))).toBeUndefined();
    expect(code(() => g.checkCommit(a, 0, 200))).toBe(ErrorCode.StaleGeneration);
    expect(code(() => g.checkCommit('', -1, 200))).toBe(ErrorCode.UnknownMemberId);
    g.join(req(), 300, newId);
    expect(code(() => g.checkCommit(a, 1, 310))).toBeUndefined(); // before the rebalance completes
    g.join(req({ memberId: a }), 320, newId);
    g.tick(330);
    expect(code(() => g.checkCommit(a, 2, 340))).toBe(ErrorCode.RebalanceInProgress);
    g.leave(
      [...g.members.keys()].map((memberId) => ({ memberId, instanceId: '' })),
      350,
    );
    expect(code(() => g.checkCommit('', -1, 360))).toBeUndefined();
  });

  it('survives its record: a stable group as it was; one awaiting its assignment rebalances', () => {
    const { g, members } = stableGroup(3, (i) => ({ instanceId: i === 0 ? 'i-0' : '' }));
    const stored = (x: ClassicGroup): ClassicRecord =>
      ClassicRecordSchema.parse(JSON.parse(classicRecordJson(x.record()))) as ClassicRecord;
    const r = ClassicGroup.restore(stored(g), { initialDelayMs: 100 }, 5000);
    expect(r.state).toBe('STABLE');
    expect(r.generation).toBe(1);
    expect(r.leader).toBe(g.leader);
    for (const id of members) {
      expect(r.members.get(id)!.assignment).toEqual(g.members.get(id)!.assignment);
      expect(r.members.get(id)!.protocols).toEqual(g.members.get(id)!.protocols);
    }
    r.heartbeat(members[0]!, 'i-0', 1, 5900); // a full session from the restore
    g.join(req({ memberId: g.leader }), 200, newId);
    for (const id of members) g.join(req({ memberId: id }), 200, newId);
    g.tick(200);
    expect(g.state).toBe('COMPLETING_REBALANCE');
    const again = ClassicGroup.restore(stored(g), { initialDelayMs: 100 }, 5000);
    expect(again.state).toBe('PREPARING_REBALANCE');
    expect(again.generation).toBe(2);
    expect(code(() => again.heartbeat(members[1]!, '', 2, 5010))).toBe(
      ErrorCode.RebalanceInProgress,
    );
  });
});
