import { describe, expect, it } from 'vitest';
import { topicHealth } from './cluster.js';
import { bytes } from './common.js';
import { formatRecord } from './consume.js';
import { lineToRecord } from './produce.js';

describe('produce: one line, one record', () => {
  it('splits the key at the first separator; a line without one has no key', () => {
    const o = { topic: 't', keySeparator: '::', headers: { h: 'v' }, partition: 2 };
    expect(lineToRecord('k::v::w', o)).toEqual({
      topic: 't',
      key: 'k',
      value: 'v::w',
      headers: [{ key: 'h', value: 'v' }],
      partition: 2,
    });
    expect(lineToRecord('plain', o)).toMatchObject({ key: null, value: 'plain' });
    expect(lineToRecord('a:b', { topic: 't', headers: {} })).toEqual({
      topic: 't',
      key: null,
      value: 'a:b',
    });
  });
});

describe('consume: one record, one line', () => {
  it('formats records as values, key+separator+value or JSON', () => {
    const r = {
      topic: 't',
      partition: 1,
      offset: 5,
      timestamp: 9,
      key: Buffer.from('k'),
      value: Buffer.from('v é'),
      headers: [{ key: 'h', value: Buffer.from('x') }],
    };
    expect(formatRecord(r, { format: 'value', keySeparator: '\t' })).toBe('v é');
    expect(formatRecord(r, { format: 'kv', keySeparator: ':' })).toBe('k:v é');
    expect(formatRecord({ ...r, key: null }, { format: 'kv', keySeparator: '\t' })).toBe(
      'null\tv é',
    );
    expect(JSON.parse(formatRecord(r, { format: 'json', keySeparator: '\t' }))).toEqual({
      key: 'k',
      value: 'v é',
      partition: 1,
      offset: 5,
      timestamp: 9,
      headers: [{ key: 'h', value: 'x' }],
    });
  });
});

describe('cluster summary and sizes', () => {
  it('counts leaders per broker, offline and under-replicated partitions', () => {
    const p = (partition: number, leader: number, replicas: number[], isr: number[]) => ({
      partition,
      leader,
      leaderEpoch: 0,
      partitionEpoch: 0,
      replicas,
      isr,
    });
    expect(
      topicHealth({
        name: 't',
        id: 'x',
        replicationFactor: 2,
        configs: {},
        partitions: [p(0, 1, [1, 2], [1, 2]), p(1, 2, [2, 1], [2]), p(2, -1, [1, 2], [])],
      }),
    ).toEqual({
      name: 't',
      partitions: 3,
      withLeader: 2,
      offline: 1,
      underReplicated: 2,
      leadersByBroker: { 1: 1, 2: 1 },
    });
  });

  it('writes sizes in binary units', () => {
    expect([0, 1023, 1536, 10 * 1024 * 1024, 300 * 1024 ** 3].map(bytes)).toEqual([
      '0 B',
      '1023 B',
      '1.5 KiB',
      '10.0 MiB',
      '300 GiB',
    ]);
  });
});
