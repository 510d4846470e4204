import { describe, expect, it } from 'vitest';
import { keyValueList, parseCli, timeString } from './args.js';
import { topicHealth } from './cluster-command.js';
import { formatRecord, parseConsume } from './consume-command.js';
import { lineToRecord, parseProduce } from './produce-command.js';
import { parseAlterTopic, parseCreateTopic, parseReassign } from './topic-commands.js';

const flagsOf = (argv: string[]) => parseCli(argv, {}).flags;
const code = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    return (err as { code: string }).code;
  }
  return 'OK';
};

describe('bootstrap defaults', () => {
  it('sends topic commands to brokers and kv commands to coordinators', () => {
    expect(parseCli(['topic', 'list'], {}).global.bootstrap).toEqual(['127.0.0.1:9092']);
    expect(parseCli(['kv', 'get', 'k'], {}).global.bootstrap).toEqual(['127.0.0.1:2379']);
    const env = { STRAND_BOOTSTRAP: 'b1:1,b2:2', STRAND_KV_BOOTSTRAP: 'c1:3' };
    expect(parseCli(['produce', 't'], env).global.bootstrap).toEqual(['b1:1', 'b2:2']);
    expect(parseCli(['kv', 'members'], env).global.bootstrap).toEqual(['c1:3']);
    expect(parseCli(['kv', 'members', '--bootstrap', 'x:9'], env).global.bootstrap).toEqual([
      'x:9',
    ]);
  });

  it('rejects a bad address from the environment as bad input', () => {
    expect(code(() => parseCli(['cluster'], { STRAND_BOOTSTRAP: 'nope' }))).toBe('INVALID_REQUEST');
  });
});

describe('flag building blocks', () => {
  it('parses repeated k=v pairs, keeping "=" in values', () => {
    expect(keyValueList.parse(['a=1', 'b=x=y', 'c='])).toEqual({ a: '1', b: 'x=y', c: '' });
    expect(keyValueList.safeParse(['novalue']).success).toBe(false);
    expect(keyValueList.safeParse(['=v']).success).toBe(false);
  });

  it('takes times as milliseconds or ISO dates', () => {
    expect(timeString.parse('1700000000000')).toBe(1700000000000);
    expect(timeString.parse('2026-01-31T12:00:00Z')).toBe(Date.parse('2026-01-31T12:00:00Z'));
    expect(timeString.safeParse('yesterday').success).toBe(false);
  });
});

describe('topic arguments', () => {
  it('validates create: counts, configs, names', () => {
    const f = flagsOf([
      'topic',
      'create',
      't',
      '--partitions',
      '3',
      '--config',
      'retention.ms=1000',
      '--config',
      'min.insync.replicas=1',
    ]);
    expect(parseCreateTopic(['t'], f)).toEqual({
      name: 't',
      partitions: 3,
      replicationFactor: 1,
      configs: { 'retention.ms': '1000', 'min.insync.replicas': '1' },
    });
    expect(code(() => parseCreateTopic(['t'], { partitions: '0' }))).toBe('INVALID_REQUEST');
    expect(code(() => parseCreateTopic(['t'], { partitions: 'x' }))).toBe('INVALID_REQUEST');
    expect(code(() => parseCreateTopic(['t'], { config: ['retention.ms'] }))).toBe(
      'INVALID_REQUEST',
    );
    expect(code(() => parseCreateTopic(['t'], { config: ['nope=1'] }))).toBe('INVALID_CONFIG');
    expect(code(() => parseCreateTopic(['bad name'], {}))).toBe('INVALID_REQUEST');
    expect(code(() => parseCreateTopic([], {}))).toBe('INVALID_REQUEST');
  });

  it('validates alter: something to change, known config names, no set+delete', () => {
    expect(
      parseAlterTopic(['t'], { config: ['retention.ms=5'], 'delete-config': ['segment.ms'] }),
    ).toEqual({ name: 't', set: { 'retention.ms': '5' }, delete: ['segment.ms'] });
    expect(parseAlterTopic(['t'], { partitions: '4' })).toEqual({ name: 't', partitions: 4 });
    expect(code(() => parseAlterTopic(['t'], {}))).toBe('INVALID_REQUEST');
    expect(code(() => parseAlterTopic(['t'], { 'delete-config': ['nope'] }))).toBe(
      'INVALID_CONFIG',
    );
    expect(
      code(() =>
        parseAlterTopic(['t'], { config: ['retention.ms=5'], 'delete-config': ['retention.ms'] }),
      ),
    ).toBe('INVALID_REQUEST');
  });
});

describe('produce arguments and lines', () => {
  it('maps acks and headers, defaults to acks=all', () => {
    const o = parseProduce(['t'], flagsOf(['produce', 't', '--header', 'a=1', '--acks', '0']));
    expect(o).toMatchObject({ topic: 't', acks: 0, headers: { a: '1' } });
    expect(parseProduce(['t'], {}).acks).toBe('all');
    expect(parseProduce(['t'], { acks: '-1' }).acks).toBe('all');
    expect(code(() => parseProduce(['t'], { acks: '2' }))).toBe('INVALID_REQUEST');
    expect(code(() => parseProduce(['t'], { partition: '-1' }))).toBe('INVALID_REQUEST');
    expect(code(() => parseProduce(['t'], { 'key-separator': '' }))).toBe('INVALID_REQUEST');
  });

  it('splits the key at the first separator; a line without one has no key', () => {
    const o = parseProduce(['t'], { 'key-separator': '::', header: ['h=v'], partition: '2' });
    expect(lineToRecord('k::v::w', o)).toEqual({
      topic: 't',
      key: 'k',
      value: 'v::w',
      headers: [{ key: 'h', value: 'v' }],
      partition: 2,
    });
    expect(lineToRecord('plain', o)).toMatchObject({ key: null, value: 'plain' });
    expect(lineToRecord('a:b', parseProduce(['t'], {}))).toEqual({
      topic: 't',
      key: null,
      value: 'a:b',
    });
  });
});

describe('consume arguments and output', () => {
  it('starts at the end and follows by default; a start point stops at the end', () => {
    expect(parseConsume(['t'], {}, false)).toMatchObject({ start: { kind: 'end' }, follow: true });
    expect(parseConsume(['t'], { 'from-beginning': true }, false)).toMatchObject({
      start: { kind: 'beginning' },
      follow: false,
    });
    expect(parseConsume(['t'], { 'from-beginning': true, count: '5' }, false)).toMatchObject({
      count: 5,
      follow: true,
    });
    expect(parseConsume(['t'], { offset: '7', follow: true }, false)).toMatchObject({
      start: { kind: 'offset', offset: 7 },
      follow: true,
    });
    expect(parseConsume(['t'], { 'from-time': '1000' }, true)).toMatchObject({
      start: { kind: 'time', timestamp: 1000 },
      format: 'json',
    });
    expect(parseConsume(['t'], { rack: 'eu-1a' }, false)).toMatchObject({ rack: 'eu-1a' });
    expect(parseConsume(['t'], {}, false)).not.toHaveProperty('rack');
  });

  it('rejects conflicting or bad flags', () => {
    for (const flags of [
      { 'from-beginning': true, offset: '1' },
      { offset: '1', 'from-time': '5' },
      { count: '0' },
      { format: 'xml' },
      { rack: '' },
      { partition: 'one' },
    ])
      expect(code(() => parseConsume(['t'], flags, false))).toBe('INVALID_REQUEST');
    expect(code(() => parseConsume(['t'], { format: 'value' }, true))).toBe('INVALID_REQUEST');
  });

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

describe('cluster summary', () => {
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
});

describe('strand topic reassign', () => {
  const flags = (argv: string[]) => parseCli(argv, {}).flags;
  it('takes a partition and distinct broker ids', () => {
    expect(parseReassign(['t'], flags(['--partition', '2', '--replicas', '3,1']))).toEqual({
      name: 't',
      partition: 2,
      replicas: [3, 1],
    });
    expect(() => parseReassign(['t'], flags(['--partition', '0', '--replicas', '1,1']))).toThrow(
      /distinct/,
    );
    expect(() => parseReassign(['t'], flags(['--partition', '0', '--replicas', 'a']))).toThrow(
      /broker ids/,
    );
    expect(() => parseReassign(['t'], flags(['--replicas', '1']))).toThrow(/partition/);
  });
});
