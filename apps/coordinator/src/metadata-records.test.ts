import {
  BrokerRecords,
  CommittedOffsets,
  decodeRecord,
  GroupKeys,
  MetaKeys,
  PartitionRecords,
  type RecordKind,
  TopicRecords,
  touchesMetadata,
} from '@strand/wire';
import { describe, expect, it } from 'vitest';
import { completeReassignment, reconcilePartition } from './controller/placement.js';
import { ClassicGroup, type ClassicRecord } from './groups/classic-group.js';
import { Group, type GroupRecord } from './groups/group.js';
import { GroupRecords } from './groups/records.js';
import { MalformedRecords } from './malformed.js';

/** mulberry32: the fuzz is seeded, so a failure replays. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  return { next, int, pick: <T>(xs: readonly T[]): T => xs[int(xs.length)]! };
}
type Rng = ReturnType<typeof rng>;

const ODD_VALUES: unknown[] = [
  null,
  true,
  0,
  -1,
  -0,
  1.5,
  2 ** 53,
  1e308,
  -1e308,
  '',
  'x'.repeat(10_000),
  '__proto__',
  [],
  [null],
  [1, 1, 1],
  {},
  { __proto__: { polluted: true } },
  { constructor: 1 },
];

function randomValue(r: Rng, depth = 0): unknown {
  if (depth > 3 || r.next() < 0.5) return r.pick(ODD_VALUES);
  if (r.next() < 0.5) return Array.from({ length: r.int(4) }, () => randomValue(r, depth + 1));
  return Object.fromEntries(
    Array.from({ length: r.int(4) }, (_, i) => [`k${i}`, randomValue(r, depth + 1)]),
  );
}

/** One mutation of a valid record: garbage bytes, broken JSON, or one field changed. */
function mutate(r: Rng, valid: Record<string, unknown>): Buffer {
  const json = JSON.stringify(valid);
  switch (r.int(7)) {
    case 0:
      return Buffer.from(Array.from({ length: r.int(64) }, () => r.int(256)));
    case 1:
      return Buffer.from(json.slice(0, r.int(json.length)));
    case 2:
      return Buffer.from(`${'['.repeat(20_000)}${']'.repeat(20_000)}`);
    case 3:
      return Buffer.from(JSON.stringify(randomValue(r)));
    default: {
      const copy: Record<string, unknown> = structuredClone(valid);
      const keys = Object.keys(copy);
      const field = r.pick(keys);
      const roll = r.int(5);
      if (roll === 0) delete copy[field];
      else if (roll === 1) copy[`extra${r.int(3)}`] = randomValue(r);
      else copy[field] = randomValue(r);
      return Buffer.from(JSON.stringify(copy));
    }
  }
}

interface Case<T> {
  name: string;
  kind: RecordKind<T>;
  key: string;
  valid: Record<string, unknown>;
  /** A reader of the decoded record: it must never throw on what the decoder lets through. */
  read?: (record: T) => void;
}

const partition = {
  topic: 'orders',
  partition: 3,
  replicas: [1, 2, 3],
  isr: [1, 2],
  leader: 1,
  leaderEpoch: 4,
  partitionEpoch: 9,
};
const member = {
  memberId: 'm-1',
  instanceId: '',
  clientId: 'c',
  sessionTimeoutMs: 10_000,
  rebalanceTimeoutMs: 10_000,
  subscription: { topics: ['orders'], pattern: '', patternFlags: '' },
  assignors: ['range'],
  assignment: [{ topic: 'orders', partition: 0 }],
};

/** What the group coordinator does with a stored group record of either kind. */
function readGroup(record: GroupRecord | ClassicRecord): void {
  if ('kind' in record) {
    const g = ClassicGroup.restore(record, { initialDelayMs: 0 }, 1000);
    g.tick(2000);
    g.tick(60_000);
    return;
  }
  const g = Group.restore(record, { initialDelayMs: 0 }, 1000);
  g.tick(2000, new Map([['orders', 4]]));
  g.tick(60_000, new Map());
}

/** Each case keeps its own record type; the list holds them alike. */
const fuzzCase = <T>(c: Case<T>) => c as unknown as Case<unknown>;

const CASES: Case<unknown>[] = [
  fuzzCase({
    name: 'broker',
    kind: BrokerRecords,
    key: MetaKeys.broker(2),
    valid: { id: 2, address: 'h:1', incarnation: 'x', epoch: 3, fenced: false, rack: '' },
  }),
  fuzzCase({
    name: 'topic',
    kind: TopicRecords,
    key: MetaKeys.topic('orders'),
    valid: {
      name: 'orders',
      id: 'u',
      partitions: 4,
      replicationFactor: 1,
      configs: {},
      createdAt: 1,
    },
  }),
  fuzzCase({
    name: 'partition',
    kind: PartitionRecords,
    key: MetaKeys.partition('orders', 3),
    valid: partition,
    read: (p) => {
      for (const live of [new Set<number>(), new Set([1]), new Set([2, 3, 4])]) {
        completeReassignment(reconcilePartition(p, live, { preferred: true }), live);
        reconcilePartition(p, live, { unclean: true });
      }
    },
  }),
  fuzzCase({
    name: 'committed offset',
    kind: CommittedOffsets,
    key: GroupKeys.offset('g', 'orders', 0),
    valid: { offset: 5, metadata: '', commitTimestamp: 1 },
  }),
  fuzzCase({
    name: 'group',
    kind: GroupRecords,
    key: GroupKeys.group('g'),
    valid: {
      group: 'g',
      generation: 2,
      protocol: 'range',
      leader: 'm-1',
      members: [member],
      topicCounts: { orders: 4 },
      heldBack: false,
    },
    read: readGroup,
  }),
  fuzzCase({
    name: 'classic group',
    kind: GroupRecords,
    key: GroupKeys.group('k'),
    valid: {
      kind: 'classic',
      group: 'k',
      generation: 3,
      protocolType: 'consumer',
      protocol: 'range',
      leader: 'm-1',
      synced: true,
      members: [
        {
          memberId: 'm-1',
          instanceId: '',
          clientId: 'c',
          clientHost: '/127.0.0.1',
          sessionTimeoutMs: 10_000,
          rebalanceTimeoutMs: 10_000,
          protocols: [{ name: 'range', metadata: 'AAEC' }],
          assignment: 'AAEC',
        },
      ],
    },
    read: readGroup,
  }),
];

describe('every metadata record decoder, fuzzed', () => {
  for (const c of CASES) {
    it(`${c.name}: decodes the valid record, and anything else is refused or is a good record, never a throw`, () => {
      const good = decodeRecord(c.kind, {
        key: c.key,
        value: Buffer.from(JSON.stringify(c.valid)),
      });
      expect(good.ok).toBe(true);
      const r = rng(c.name.length * 7919);
      let refused = 0;
      for (let i = 0; i < 1000; i++) {
        const value = mutate(r, c.valid);
        const d = decodeRecord(c.kind, { key: c.key, value });
        if (!d.ok) {
          refused++;
          expect(d.error.length).toBeGreaterThan(0);
          continue;
        }
        expect(c.kind.keyOf?.(d.record) ?? c.key).toBe(c.key);
        c.read?.(d.record);
      }
      expect(refused).toBeGreaterThan(300);
    });
  }

  it('a good record at another key than its own is refused', () => {
    const value = Buffer.from(JSON.stringify(partition));
    const d = decodeRecord(PartitionRecords, { key: MetaKeys.partition('orders', 0), value });
    expect(d).toEqual({ ok: false, error: expect.stringMatching(/belongs at/) });
  });

  it('MalformedRecords logs a record once per version and lists it until it changes', () => {
    const lines: Record<string, unknown>[] = [];
    const m = new MalformedRecords((fields, msg) => lines.push({ ...fields, msg }));
    const bad = { key: MetaKeys.topic('t'), value: Buffer.from('nope'), modRevision: 5 };
    expect(m.decode(TopicRecords, bad)).toBeUndefined();
    expect(m.decode(TopicRecords, bad)).toBeUndefined();
    expect(lines).toEqual([
      {
        msg: 'skipping a malformed metadata record',
        key: MetaKeys.topic('t'),
        revision: 5,
        error: expect.any(String),
      },
    ]);
    expect(m.list(() => 5).map((x) => x.key)).toEqual([MetaKeys.topic('t')]);
    expect(m.list(() => 6)).toEqual([]); // rewritten meanwhile
    m.decode(TopicRecords, bad);
    expect(m.list(() => undefined)).toEqual([]); // deleted meanwhile
  });
});

describe('the metadata keyspace', () => {
  const b = (s: string) => Buffer.from(s);
  it('knows which keys and ranges reach into /strand/', () => {
    expect(touchesMetadata(b('/strand/'))).toBe(true);
    expect(touchesMetadata(b('/strand/topics/x'))).toBe(true);
    expect(touchesMetadata(b('/strand'))).toBe(false);
    expect(touchesMetadata(b('/strandx'))).toBe(false);
    expect(touchesMetadata(b('/strand0'))).toBe(false);
    expect(touchesMetadata(b('a'))).toBe(false);
    expect(touchesMetadata(b('/'), b('0'))).toBe(true);
    expect(touchesMetadata(b(''), b('\xff'))).toBe(true);
    expect(touchesMetadata(b('/strand'), b('/strand/'))).toBe(false);
    expect(touchesMetadata(b('/strand'), b('/strand/\x00'))).toBe(true);
    expect(touchesMetadata(b('/strand/zzz'), b('/strand/a'))).toBe(false); // empty range
    expect(touchesMetadata(b('/strand0'), b('/z'))).toBe(false);
    expect(touchesMetadata(b('/strand/'), b('/strand0'))).toBe(true);
  });
});
