import { describe, expect, it } from 'vitest';
import { strand } from '../commands/index.js';
import { type Parsed, prepare } from './run.js';

type Run = Extract<Parsed, { kind: 'run' }>;

const run = (argv: string[], env: NodeJS.ProcessEnv = {}): Run => {
  const p = prepare(strand, argv, env);
  if (p.kind !== 'run') throw new Error(`not a run: ${p.kind}`);
  return p;
};
/** The error a command line is refused with: its code and message. */
const refused = (argv: string[], env: NodeJS.ProcessEnv = {}) => {
  try {
    prepare(strand, argv, env);
  } catch (err) {
    const e = err as { code: string; message: string };
    return `${e.code}: ${e.message}`;
  }
  return 'accepted';
};

describe('command words, arguments and flags', () => {
  it('finds the command, its arguments and typed flag values, with defaults', () => {
    const p = run([
      'topic',
      'create',
      'events',
      '--partitions',
      '3',
      '--config',
      'retention.ms=1000',
      '--config=segment.ms=5',
    ]);
    expect(p.path).toEqual(['topic', 'create']);
    expect(p.args).toEqual(['events']);
    expect(p.flags).toMatchObject({
      partitions: 3,
      'replication-factor': 1,
      config: { 'retention.ms': '1000', 'segment.ms': '5' },
    });
    expect(p.format).toBe('table');
    // Flags may come before the arguments, globals before the command.
    expect(run(['--json', 'topic', 'describe', 'x']).format).toBe('json');
    expect(run(['kv', 'put', '--lease', '7', 'k', 'v']).args).toEqual(['k', 'v']);
    expect(run(['topic', 'list', '-o', 'yaml']).format).toBe('yaml');
    expect(run(['topic', 'list', '-o=json']).format).toBe('json');
    expect(run(['topic', 'ls']).path).toEqual(['topic', 'list']);
  });

  it('sends topic commands to brokers and kv commands to coordinators', () => {
    expect(run(['topic', 'list']).bootstrap).toEqual(['127.0.0.1:9092']);
    expect(run(['kv', 'get', 'k']).bootstrap).toEqual(['127.0.0.1:2379']);
    const env = { STRAND_BOOTSTRAP: 'b1:1,b2:2', STRAND_KV_BOOTSTRAP: 'c1:3' };
    expect(run(['produce', 't'], env).bootstrap).toEqual(['b1:1', 'b2:2']);
    expect(run(['kv', 'members'], env).bootstrap).toEqual(['c1:3']);
    expect(run(['kv', 'members', '--bootstrap', 'x:9'], env).bootstrap).toEqual(['x:9']);
    expect(refused(['cluster'], { STRAND_BOOTSTRAP: 'nope' })).toMatch(
      /^INVALID_REQUEST: STRAND_BOOTSTRAP: expected host:port/,
    );
    expect(refused(['cluster', '--bootstrap', 'h:99999'])).toMatch(/port must be at most 65535/);
  });

  it('takes a flag value that looks like a flag or a negative number, and refuses negatives in words', () => {
    expect(run(['produce', 't', '--key-separator', '-']).flags['key-separator']).toBe('-');
    expect(run(['kv', 'put', 'k', '-5']).args).toEqual(['k', '-5']);
    expect(refused(['consume', 't', '--offset', '-5'])).toBe(
      'INVALID_REQUEST: --offset: must be 0 or more (got "-5")',
    );
    expect(refused(['consume', 't', '--count', 'many'])).toBe(
      'INVALID_REQUEST: --count: must be a whole number (got "many")',
    );
    expect(run(['kv', 'put', '--', '--key', 'v']).args).toEqual(['--key', 'v']);
  });

  it('names an unknown flag or command and suggests the nearest one', () => {
    expect(refused(['topic', 'create', 'x', '--partitons', '3'])).toBe(
      'INVALID_REQUEST: unknown flag --partitons for strand topic create (did you mean --partitions?)',
    );
    expect(refused(['consume', 't', '--from-begining'])).toMatch(/did you mean --from-beginning\?/);
    expect(refused(['topic', 'craete'])).toMatch(
      /unknown command "craete" for strand topic \(did you mean create\?\)/,
    );
    expect(refused(['nope'])).toMatch(/^INVALID_REQUEST: unknown command "nope" for strand$/);
    expect(refused(['kv', 'put', 'k', 'v', '--xyzzy'])).toMatch(
      /unknown flag --xyzzy for strand kv put$/,
    );
  });

  it('refuses missing and extra arguments, missing values, repeated single flags', () => {
    expect(refused(['topic', 'create'])).toBe(
      'INVALID_REQUEST: strand topic create needs NAME (usage: strand topic create NAME [flags])',
    );
    expect(refused(['kv', 'put', 'only-key'])).toMatch(/needs VALUE/);
    expect(refused(['cluster', 'extra'])).toMatch(/strand cluster takes no arguments, got "extra"/);
    expect(refused(['topic', 'describe', 'a', 'b'])).toMatch(/too many arguments/);
    expect(refused(['topic', 'create', 'x', '--partitions'])).toMatch(
      /--partitions needs a value \(N\)/,
    );
    expect(refused(['consume', 't', '--partition', '1', '--partition', '2'])).toMatch(
      /given twice/,
    );
    expect(refused(['consume', 't', '--follow=maybe'])).toMatch(/is a switch/);
    expect(refused(['topic', 'list', '--json', '-o', 'yaml'])).toMatch(/disagree/);
  });

  it('asks for help: --help anywhere, bare groups (as an error), bare strand', () => {
    expect(prepare(strand, ['topic', 'create', '--partitons', '--help'])).toMatchObject({
      kind: 'help',
      path: ['topic', 'create'],
      asked: true,
    });
    expect(prepare(strand, ['topic'])).toMatchObject({
      kind: 'help',
      path: ['topic'],
      asked: false,
    });
    expect(prepare(strand, [])).toMatchObject({ kind: 'help', path: [], asked: false });
    expect(prepare(strand, ['--version'])).toEqual({ kind: 'version' });
  });
});

describe("each command's own rules", () => {
  it('topic create: counts, configs, names', () => {
    expect(refused(['topic', 'create', 'x', '--partitions', '0'])).toMatch(
      /--partitions: must be 1 or more/,
    );
    expect(refused(['topic', 'create', 'x', '--config', 'retention.ms'])).toMatch(/expected k=v/);
    expect(refused(['topic', 'create', 'x', '--config', 'nope=1'])).toMatch(/^INVALID_CONFIG/);
    expect(refused(['topic', 'create', 'bad name'])).toMatch(/^INVALID_REQUEST/);
  });

  it('topic alter: something to change, known config names, no set+delete', () => {
    expect(refused(['topic', 'alter', 't'])).toMatch(/nothing to change/);
    expect(refused(['topic', 'alter', 't', '--delete-config', 'nope'])).toMatch(
      /^INVALID_CONFIG: unknown config "nope"/,
    );
    expect(
      refused([
        'topic',
        'alter',
        't',
        '--config',
        'retention.ms=5',
        '--delete-config',
        'retention.ms',
      ]),
    ).toMatch(/both set and deleted/);
    expect(run(['topic', 'alter', 't', '--partitions', '4']).flags.partitions).toBe(4);
  });

  it('topic reassign: a partition and distinct broker ids', () => {
    expect(
      run(['topic', 'reassign', 't', '--partition', '2', '--replicas', '3,1']).flags,
    ).toMatchObject({
      partition: 2,
      replicas: [3, 1],
    });
    expect(refused(['topic', 'reassign', 't', '--partition', '0', '--replicas', '1,1'])).toMatch(
      /distinct/,
    );
    expect(refused(['topic', 'reassign', 't', '--replicas', '1'])).toMatch(/--partition N/);
  });

  it('produce: acks, headers, partition', () => {
    expect(run(['produce', 't', '--header', 'a=1', '--acks', '0']).flags).toMatchObject({
      acks: 0,
      header: { a: '1' },
    });
    expect(run(['produce', 't', '--acks', '-1']).flags.acks).toBe('all');
    expect(refused(['produce', 't', '--acks', '2'])).toMatch(/must be 0, 1 or all/);
    expect(refused(['produce', 't', '--partition', '-1'])).toMatch(/must be 0 or more/);
    expect(refused(['produce', 't', '--key-separator', ''])).toMatch(/cannot be empty/);
    expect(refused(['produce', 't', '--file', '/no/such/file'])).toMatch(/--file: cannot read/);
  });

  it('consume: one start point; --group excludes offsets and partitions', () => {
    expect(refused(['consume', 't', '--from-beginning', '--offset', '1'])).toMatch(
      /at most one of/,
    );
    expect(refused(['consume', 't', '--count', '0'])).toMatch(/must be 1 or more/);
    expect(refused(['consume', 't', '--format', 'xml'])).toMatch(/must be value, kv or json/);
    expect(refused(['consume', 't', '--from-time', 'yesterday'])).toMatch(/ISO date/);
    expect(refused(['consume', 't', '--group', 'g', '--partition', '1'])).toMatch(
      /--group takes its start/,
    );
    expect(run(['consume', 't', '--from-time', '2026-01-31T12:00:00Z']).flags['from-time']).toBe(
      Date.parse('2026-01-31T12:00:00Z'),
    );
  });

  it('group reset-offsets: exactly one target', () => {
    expect(refused(['group', 'reset-offsets', 'g'])).toMatch(/exactly one of/);
    expect(refused(['group', 'reset-offsets', 'g', '--to-earliest', '--to-latest'])).toMatch(
      /exactly one of/,
    );
    expect(run(['group', 'reset-offsets', 'g', '--to-offset', '5']).flags['to-offset']).toBe(5);
  });

  it('kv: consistency, prefix or range end, dev ports', () => {
    expect(refused(['kv', 'get', 'k', '--consistency', 'maybe'])).toMatch(
      /must be linearizable or stale/,
    );
    expect(refused(['kv', 'get', 'a', 'b', '--prefix'])).toMatch(/--prefix or RANGE_END/);
    expect(run(['kv', 'range', 'a', 'b']).args).toEqual(['a', 'b']);
    expect(refused(['dev', '--port', '70000'])).toMatch(/must be at most 65535/);
    expect(refused(['dev', '--port', '5', '--broker-port', '5'])).toMatch(/must differ/);
  });
});
