import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, ProcessRegistry, tempDir } from '@strand/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, type DevCluster, exec, type Result, startDev } from './cli.test-util.js';

const registry = new ProcessRegistry();
const dir = tempDir('strand-cli-');
let dev: DevCluster;
let brokers = '';
let coordinator = '';

/** Commands find the cluster through the environment: brokers for topics, coordinators for kv. */
const strand = (...args: string[]): Promise<Result> =>
  exec(process.execPath, [CLI, ...args], { env: dev.env });

/** Through the shell, with stdin from a file: how people script it. */
const shell = (script: string): Promise<Result> =>
  exec('sh', ['-c', script], { env: { ...dev.env, STRAND: `${process.execPath} ${CLI}` } });

const lines = (s: string) => s.split('\n').filter((l) => l.length > 0);

beforeAll(async () => {
  dev = await startDev(registry, join(dir.path, 'data'), { name: 'strand dev' });
  ({ brokers, coordinator } = dev);
});

afterAll(async () => {
  await registry.stopAll();
  dir.cleanup();
});

describe('strand kv against `strand dev`', () => {
  it('puts, gets, ranges, deletes and reports members, in text and JSON', async () => {
    expect((await strand('kv', 'put', 'app/a', 'one')).stdout).toMatch(/^OK \(revision \d+\)/);
    await strand('kv', 'put', 'app/b', 'two');
    expect((await strand('kv', 'get', 'app/a')).stdout).toBe('one\n');
    const json = JSON.parse(
      (await strand('kv', 'get', 'app/a', '--json', '--consistency', 'stale')).stdout,
    );
    expect(json).toMatchObject({ key: 'app/a', value: 'one', version: 1 });
    const range = JSON.parse((await strand('kv', 'range', 'app/', '--json')).stdout) as {
      key: string;
    }[];
    expect(range.map((r) => r.key)).toEqual(['app/a', 'app/b']);
    expect((await strand('kv', 'range', 'app/')).stdout).toMatch(/KEY\s+VALUE/);
    const members = JSON.parse((await strand('kv', 'members', '--json')).stdout);
    expect(members.members).toHaveLength(1);
    expect(members.leaderId).toBe(1);
    expect((await strand('kv', 'del', 'app/', '--prefix')).stdout).toBe('deleted 2\n');
    // A missing key: exit 1, nothing on stdout, the error on stderr (JSON under --json).
    const missing = await strand('kv', 'get', 'app/a');
    expect(missing).toMatchObject({ code: 1, stdout: '' });
    expect(missing.stderr).toBe('strand: KEY_NOT_FOUND: no key "app/a"\n');
    const missingJson = await strand('kv', 'get', 'app/a', '--json');
    expect(missingJson).toMatchObject({ code: 1, stdout: '' });
    expect(JSON.parse(missingJson.stderr)).toEqual({
      error: { code: 'KEY_NOT_FOUND', message: 'no key "app/a"' },
    });
  });

  it('watches from a revision and stops after --count events', async () => {
    const put = JSON.parse((await strand('kv', 'put', 'w/x', '1', '--json')).stdout) as {
      revision: number;
    };
    await strand('kv', 'put', 'w/y', '2');
    const watched = await strand(
      'kv',
      'watch',
      'w/',
      '--prefix',
      '--from-revision',
      String(put.revision),
      '--count',
      '2',
    );
    expect(watched.stdout.trim().split('\n')).toEqual(['PUT w/x 1', 'PUT w/y 2']);
  });

  it('gives get --prefix and range FROM TO their etcdctl meanings', async () => {
    for (const k of ['fruit/apple', 'fruit/banana', 'fruit/cherry', 'fruitcake'])
      expect((await strand('kv', 'put', k, 'x')).code).toBe(0);
    const keys = async (...args: string[]) =>
      (JSON.parse((await strand('kv', ...args, '--json')).stdout) as { key: string }[]).map(
        (x) => x.key,
      );
    expect(await keys('get', 'fruit', '--prefix')).toEqual([
      'fruit/apple',
      'fruit/banana',
      'fruit/cherry',
      'fruitcake',
    ]);
    expect(await keys('range', 'fruit/')).toEqual(['fruit/apple', 'fruit/banana', 'fruit/cherry']);
    expect(await keys('range', 'fruit/apple', 'fruit/cherry')).toEqual([
      'fruit/apple',
      'fruit/banana',
    ]);
    expect(await keys('get', 'fruit/b', 'fruit/d')).toEqual(['fruit/banana', 'fruit/cherry']);
    expect(await keys('range', 'fruit/', '--limit', '1')).toEqual(['fruit/apple']);
    // An empty range is an answer, not an error.
    expect(await strand('kv', 'range', 'vegetable/')).toMatchObject({
      code: 0,
      stdout: '(no keys)\n',
    });
    expect((await strand('kv', 'del', 'fruit/apple', 'fruit/cherry')).stdout).toBe('deleted 2\n');
    expect(await keys('range', 'fruit')).toEqual(['fruit/cherry', 'fruitcake']);
  });

  it('grants, lists, keeps alive and revokes leases; keys go with their lease', async () => {
    const grant = await strand('kv', 'lease', 'grant', '60s');
    expect(grant.stdout).toMatch(/^lease \d+ granted with TTL 60s\n$/);
    const id = grant.stdout.split(' ')[1]!;
    expect((await strand('kv', 'put', 'leased/a', 'x', '--lease', id)).code).toBe(0);
    const listed = JSON.parse((await strand('kv', 'lease', 'list', '--json')).stdout) as {
      id: number;
      ttlMs: number;
      remainingMs: number;
      keys: number;
    }[];
    const mine = listed.find((l) => String(l.id) === id);
    expect(mine).toMatchObject({ ttlMs: 60_000, keys: 1 });
    expect(mine!.remainingMs).toBeGreaterThan(30_000);
    expect((await strand('kv', 'lease', 'list')).stdout).toMatch(
      new RegExp(`^${id}\\s+60s\\s+\\S+\\s+1$`, 'm'),
    );
    expect((await strand('kv', 'lease', 'keep-alive', id, '--once')).stdout).toBe(
      `lease ${id} kept alive (TTL 60s)\n`,
    );
    expect((await strand('kv', 'lease', 'revoke', id)).stdout).toBe(`lease ${id} revoked\n`);
    expect((await strand('kv', 'get', 'leased/a')).code).toBe(1);
    expect((await strand('kv', 'lease', 'grant', '1ms')).code).toBe(2);
    expect((await strand('kv', 'lease', 'revoke', 'abc')).code).toBe(2);
  });

  it('runs a transaction from stdin: compares, then the success or the failure ops', async () => {
    const txn = (text: string, ...flags: string[]) =>
      shell(`printf '%s' '${text}' | $STRAND kv txn ${flags.join(' ')}`);
    const first = await txn('version("lock") = 0\n\nput lock me\n\nget lock\n');
    expect(first).toMatchObject({ code: 0, stdout: 'SUCCESS\nOK\n' });
    const second = await txn('version("lock") = 0\n\nput lock me\n\nget lock\n');
    expect(second.stdout).toBe('FAILURE\nlock\nme\n');
    const json = JSON.parse((await txn('value("lock") = "me"\n\ndel lock\n', '--json')).stdout);
    expect(json).toMatchObject({ succeeded: true, responses: [{ deleted: 1 }] });
    expect(typeof json.revision).toBe('number');
    const bad = await txn('lease("lock") = 0\n');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/line 1: expected a compare/);
  });

  it('uses --bootstrap over the environment', async () => {
    const r = await strand('kv', 'put', 'b/x', '1', '--bootstrap', coordinator);
    expect(r.code).toBe(0);
  });
});

describe('strand topic', () => {
  it('creates, lists, describes, alters and deletes, in text and JSON', async () => {
    const created = await strand(
      'topic',
      'create',
      'orders',
      '--partitions',
      '3',
      '--config',
      'retention.ms=60000',
    );
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^created topic orders \(3 partitions, replication factor 1\)/);

    const dup = await strand('topic', 'create', 'orders');
    expect(dup.code).toBe(1);
    expect(dup.stderr).toMatch(/TOPIC_EXISTS/);
    expect(lines(dup.stderr)).toHaveLength(1);

    const created2 = JSON.parse(
      (await strand('topic', 'create', 'audit', '--json', '--replication-factor', '1')).stdout,
    ) as { name: string; partitions: unknown[] };
    expect(created2).toMatchObject({ name: 'audit', replicationFactor: 1 });
    expect(created2.partitions).toHaveLength(1);

    const list = await strand('topic', 'list');
    expect(list.stdout).toMatch(/NAME\s+PARTITIONS\s+REPLICATION/);
    expect(list.stdout).toMatch(/orders\s+3\s+1\s+retention\.ms=60000/);
    const listed = JSON.parse((await strand('topic', 'list', '--json')).stdout) as {
      name: string;
      partitions: unknown[];
    }[];
    expect(listed.find((t) => t.name === 'orders')?.partitions).toHaveLength(3);
    expect(listed.map((t) => t.name)).toContain('audit');

    const text = (await strand('topic', 'describe', 'orders')).stdout;
    expect(text).toMatch(/Topic orders .*partitions 3/);
    expect(text).toMatch(
      /PARTITION\s+LEADER\s+EPOCH\s+REPLICAS\s+ISR\s+LOG-START\s+LOG-END\s+HIGH-WATERMARK\s+SIZE/,
    );
    expect(text).toMatch(/^2\s+1\s+\d+\s+1\s+1\s+0\s+0\s+0\s+0 B$/m);
    expect(text).toMatch(/retention\.ms\s+60000\s+topic/);
    expect(text).toMatch(/segment\.bytes\s+\d+\s+default/);
    const described = JSON.parse((await strand('topic', 'describe', 'orders', '--json')).stdout);
    expect(described.partitions).toHaveLength(3);
    expect(described.partitions[0]).toMatchObject({
      leader: 1,
      replicas: [1],
      isr: [1],
      logStartOffset: 0,
      logEndOffset: 0,
      highWatermark: 0,
      sizeBytes: 0,
    });
    expect(described.configs['retention.ms']).toBe('60000');

    const altered = await strand(
      'topic',
      'alter',
      'orders',
      '--config',
      'retention.ms=120000',
      '--config',
      'segment.ms=3600000',
      '--partitions',
      '4',
    );
    expect(altered.code).toBe(0);
    expect(altered.stdout).toMatch(/^altered topic orders/);
    const after = JSON.parse((await strand('topic', 'describe', 'orders', '--json')).stdout);
    expect(after.partitions).toHaveLength(4);
    expect(after.configs).toMatchObject({ 'retention.ms': '120000', 'segment.ms': '3600000' });
    const reverted = JSON.parse(
      (await strand('topic', 'alter', 'orders', '--delete-config', 'retention.ms', '--json'))
        .stdout,
    );
    expect(reverted.configs['retention.ms']).toBe('604800000');
    expect(reverted.configs['segment.ms']).toBe('3600000');

    expect((await strand('topic', 'delete', 'orders')).stdout).toBe('deleted topic orders\n');
    expect(JSON.parse((await strand('topic', 'delete', 'audit', '--json')).stdout)).toEqual({
      deleted: 'audit',
    });
    let gone: Result | undefined;
    for (let i = 0; i < 50; i++) {
      gone = await strand('topic', 'describe', 'orders');
      if (gone.code !== 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(gone?.code).toBe(1);
    expect(gone?.stderr).toMatch(/UNKNOWN_TOPIC/);
    const names = (
      JSON.parse((await strand('topic', 'list', '--json')).stdout) as { name: string }[]
    ).map((t) => t.name);
    expect(names).not.toContain('orders');
  });

  it('reports an unknown topic clearly, exit 1', async () => {
    for (const args of [
      ['topic', 'describe', 'no-such-topic'],
      ['topic', 'delete', 'no-such-topic'],
      ['topic', 'alter', 'no-such-topic', '--partitions', '2'],
      ['consume', 'no-such-topic', '--from-beginning'],
    ]) {
      const r = await strand(...args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toMatch(/^strand: UNKNOWN_TOPIC: .*no-such-topic/);
      expect(lines(r.stderr)).toHaveLength(1);
    }
  });

  it('rejects bad topic arguments with exit 2 before contacting anything', async () => {
    for (const args of [
      ['topic', 'create', 'x', '--partitions', '0'],
      ['topic', 'create', 'x', '--partitions', 'many'],
      ['topic', 'create', 'x', '--config', 'retention.ms'],
      ['topic', 'create', 'x', '--config', 'no.such.config=1'],
      ['topic', 'create', 'x', '--config', 'retention.ms=soon'],
      ['topic', 'create', 'bad/name'],
      ['topic', 'create'],
      ['topic', 'alter', 'x'],
      ['topic', 'frob'],
      ['produce', 't', '--acks', '2'],
      ['consume', 't', '--from-beginning', '--offset', '3'],
      ['consume', 't', '--count', '0'],
      ['consume', 't', '--from-time', 'yesterday'],
    ]) {
      const r = await strand(...args, '--bootstrap', '127.0.0.1:1');
      expect(r.code, args.join(' ')).toBe(2);
      expect(lines(r.stderr), args.join(' ')).toHaveLength(1);
    }
  });
});

describe('strand produce and consume', () => {
  const N = 10_000;
  const input = Array.from({ length: N }, (_, i) => `line ${i} ✓ ${'x'.repeat(i % 37)}`);
  const file = () => join(dir.path, 'lines.txt');

  beforeAll(() => writeFileSync(file(), `${input.join('\n')}\n`));

  it('round-trips 10,000 lines through one partition, in order', async () => {
    expect((await strand('topic', 'create', 'single')).code).toBe(0);
    const produced = await shell(`$STRAND produce single < "${file()}"`);
    expect(produced.stderr).toBe('');
    expect(produced.stdout).toBe(`produced ${N} records to single\n`);
    expect(produced.code).toBe(0);

    const counted = await strand('consume', 'single', '--from-beginning', '--count', String(N));
    expect(counted.code).toBe(0);
    expect(counted.stdout).toBe(`${input.join('\n')}\n`);

    // Without --count and --follow it stops at the end it saw at the start.
    const toEnd = await strand('consume', 'single', '--from-beginning');
    expect(toEnd.code).toBe(0);
    expect(lines(toEnd.stdout)).toHaveLength(N);

    // From an offset, one partition, as JSON.
    const fromOffset = await strand(
      'consume',
      'single',
      '--partition',
      '0',
      '--offset',
      String(N - 3),
      '--json',
    );
    const recs = lines(fromOffset.stdout).map((l) => JSON.parse(l));
    expect(recs.map((r) => r.offset)).toEqual([N - 3, N - 2, N - 1]);
    expect(recs[0]).toMatchObject({ key: null, value: input[N - 3], partition: 0, headers: [] });
    expect(typeof recs[0].timestamp).toBe('number');

    // From a time before everything: all of it.
    const fromTime = await strand('consume', 'single', '--from-time', '2020-01-01T00:00:00Z');
    expect(lines(fromTime.stdout)).toHaveLength(N);
  });

  it('spreads lines over 3 partitions and reads back the same multiset', async () => {
    expect((await strand('topic', 'create', 'spread', '--partitions', '3')).code).toBe(0);
    const produced = await strand('produce', 'spread', '--file', file(), '--acks', '1', '--json');
    expect(produced.code).toBe(0);
    expect(JSON.parse(produced.stdout)).toEqual({ topic: 'spread', records: N });

    const consumed = await strand('consume', 'spread', '--from-beginning', '--count', String(N));
    expect(consumed.code).toBe(0);
    expect(lines(consumed.stdout).sort()).toEqual([...input].sort());
    const perPartition = await Promise.all(
      [0, 1, 2].map(
        async (p) =>
          lines(
            (await strand('consume', 'spread', '--from-beginning', '--partition', String(p)))
              .stdout,
          ).length,
      ),
    );
    expect(perPartition.reduce((a, b) => a + b, 0)).toBe(N);
  });

  it('a compacted topic: keyless lines refused, keyed ones taken, the cleaner shown by describe', async () => {
    const created = await strand(
      'topic',
      'create',
      'profiles',
      '--config',
      'cleanup.policy=compact',
      '--config',
      'segment.bytes=1024',
    );
    expect(created.code).toBe(0);
    const file = join(dir.path, 'profiles.txt');
    writeFileSync(file, Array.from({ length: 60 }, (_, i) => `user-${i % 6}:v${i}\n`).join(''));
    const keyed = await shell(`$STRAND produce profiles --key-separator : < "${file}"`);
    expect(keyed.stdout).toBe('produced 60 records to profiles\n');
    const keyless = await shell('echo no-key | $STRAND produce profiles');
    expect(keyless.code).toBe(1);
    expect(keyless.stderr).toMatch(/INVALID_RECORD: .*needs a key/);
    const text = (await strand('topic', 'describe', 'profiles')).stdout;
    expect(text).toMatch(/Log cleaner/);
    expect(text).toMatch(/PARTITION\s+DIRTY-RATIO\s+CLEANED\s+LAST-CLEANED/);
    expect(text).toMatch(/cleanup\.policy\s+compact\s+topic/);
    const json = JSON.parse((await strand('topic', 'describe', 'profiles', '--json')).stdout);
    expect(json.partitions[0].cleaner).toMatchObject({
      dirtyRatio: expect.any(Number),
      cleanedBytes: 0,
    });
    const consumed = await strand('consume', 'profiles', '--from-beginning', '--count', '60');
    expect(lines(consumed.stdout).at(-1)).toBe('v59');
  });

  it('puts equal keys in the same partition with --key-separator, headers included', async () => {
    expect((await strand('topic', 'create', 'keyed', '--partitions', '3')).code).toBe(0);
    const keyedFile = join(dir.path, 'keyed.txt');
    const count = 300;
    writeFileSync(
      keyedFile,
      Array.from({ length: count }, (_, i) => `user-${i % 11}:event ${i}:x\n`).join(''),
    );
    const produced = await shell(
      `$STRAND produce keyed --key-separator : --header source=test < "${keyedFile}"`,
    );
    expect(produced.stdout).toBe(`produced ${count} records to keyed\n`);

    const out = await strand(
      'consume',
      'keyed',
      '--from-beginning',
      '--count',
      String(count),
      '--format',
      'json',
    );
    const recs = lines(out.stdout).map(
      (l) =>
        JSON.parse(l) as {
          key: string;
          value: string;
          partition: number;
          offset: number;
          headers: unknown;
        },
    );
    expect(recs).toHaveLength(count);
    const partitionsOf = new Map<string, Set<number>>();
    for (const r of recs) {
      partitionsOf.set(r.key, (partitionsOf.get(r.key) ?? new Set()).add(r.partition));
      expect(r.headers).toEqual([{ key: 'source', value: 'test' }]);
      expect(r.value).toMatch(/^event \d+:x$/);
    }
    expect(partitionsOf.size).toBe(11);
    for (const set of partitionsOf.values()) expect(set.size).toBe(1);
    expect(new Set(recs.map((r) => r.partition)).size).toBeGreaterThan(1);
    // Per key, the order of production is kept.
    const user0 = recs.filter((r) => r.key === 'user-0').map((r) => Number(r.value.split(' ')[1]));
    expect(user0).toEqual([...user0].sort((a, b) => a - b));

    const kv = await strand('consume', 'keyed', '--from-beginning', '--format', 'kv');
    expect(lines(kv.stdout)[0]).toMatch(/^user-\d+\tevent \d+:x$/);
  });

  it('follows from the end by default and stops cleanly on Ctrl-C', async () => {
    expect((await strand('topic', 'create', 'live')).code).toBe(0);
    await shell('echo before | $STRAND produce live');
    const follower = registry.spawnNode(CLI, {
      name: 'strand consume',
      args: ['consume', 'live'],
      env: { STRAND_BOOTSTRAP: brokers },
    });
    // Give it time to find the end, then produce until it shows up.
    let seen = false;
    for (let i = 0; i < 40 && !seen; i++) {
      await shell(`echo after-${i} | $STRAND produce live`);
      seen = follower.lines.some((l) => l.startsWith('after-'));
      if (!seen) await new Promise((r) => setTimeout(r, 250));
    }
    expect(seen).toBe(true);
    await follower.waitFor(/^after-/);
    expect(follower.lines).not.toContain('before');
    process.kill(follower.pid, 'SIGINT');
    expect(await follower.exited).toBe(0);
  });

  it('fails a produce to a missing topic at once, even with empty input; --create makes it', async () => {
    // At once: no metadata retries until the request times out (they took 5-7 s). With a
    // 120 s timeout a retrying produce would take minutes; the bound leaves room for load.
    const started = Date.now();
    const r = await shell('echo x | $STRAND produce never-created --timeout-ms 120000');
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'strand: UNKNOWN_TOPIC: topic "never-created" does not exist (create it with `strand topic create never-created`, or add --create)\n',
    );
    const empty = await shell('$STRAND produce never-created --timeout-ms 120000 < /dev/null');
    expect(empty.code).toBe(1);
    expect(empty.stdout).toBe('');
    expect(Date.now() - started).toBeLessThan(60_000);

    const created = await shell('printf "a\\nb\\n" | $STRAND produce made-here --create');
    expect(created).toMatchObject({ code: 0, stdout: 'produced 2 records to made-here\n' });
    expect((await strand('consume', 'made-here', '--from-beginning')).stdout).toBe('a\nb\n');
  });

  it('says so when the input is empty', async () => {
    const r = await shell('$STRAND produce made-here < /dev/null');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('produced 0 records to made-here\n');
    expect(r.stderr).toBe('strand: the input had no lines: nothing was produced to made-here\n');
  });
});

describe('output formats and help', () => {
  it('prints the same data as json or yaml, and errors as JSON under --json', async () => {
    await strand('topic', 'create', 'formats', '--partitions', '2');
    const json = JSON.parse((await strand('topic', 'list', '-o', 'json')).stdout) as {
      name: string;
    }[];
    expect(json.map((t) => t.name)).toContain('formats');
    const yaml = (await strand('topic', 'list', '-o', 'yaml')).stdout;
    expect(yaml).toMatch(/^---\n- name: /);
    expect(yaml).toMatch(/^- name: formats$/m);
    const err = await strand('topic', 'describe', 'nothing-here', '--json');
    expect(err.code).toBe(1);
    expect(err.stdout).toBe('');
    expect(JSON.parse(err.stderr)).toEqual({
      error: { code: 'UNKNOWN_TOPIC', message: expect.stringContaining('nothing-here') },
    });
    const bad = await strand('topic', 'create', 'x', '--partitons', '3', '-o', 'json');
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.stderr).error).toEqual({
      code: 'INVALID_REQUEST',
      message: 'unknown flag --partitons for strand topic create (did you mean --partitions?)',
    });
  });

  it('gives every command its own help; strand help and --version', async () => {
    const topic = await strand('topic', 'create', '--help');
    const consume = await strand('consume', '--help');
    const watch = await strand('kv', 'watch', '--help');
    for (const r of [topic, consume, watch]) expect(r.code).toBe(0);
    expect(topic.stdout).toContain('strand topic create NAME [flags]');
    expect(consume.stdout).toMatch(/--from-beginning +start at the oldest record kept/);
    expect(watch.stdout).toMatch(/--from-revision R/);
    expect(new Set([topic.stdout, consume.stdout, watch.stdout]).size).toBe(3);
    expect((await strand('help', 'topic', 'create')).stdout).toBe(topic.stdout);
    const version = await strand('--version');
    expect(version.stdout).toMatch(/^strand \d+\.\d+\.\d+\n/);
    expect(version.stdout).toMatch(/strand\.broker\.v1 .*strand\.kv\.v1/s);
    expect(version.stdout).toMatch(/RecordBatch v2 \(magic 2\)/);
  });

  it('a command group without its subcommand, and bare strand, print their help and exit 2', async () => {
    for (const args of [[], ['topic'], ['kv', 'lease']]) {
      const r = await strand(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^Usage:\n {2}strand .*<command> \[flags\]$/m);
      expect(r.stderr).toMatch(/^Commands:$/m);
    }
  });
});

describe('strand cluster', () => {
  it('shows the broker, the coordinator, the controller and leaders per topic', async () => {
    await strand('topic', 'create', 'status', '--partitions', '2');
    const r = await strand('cluster', '--json');
    expect(r.code).toBe(0);
    const c = JSON.parse(r.stdout);
    expect(c.brokers).toEqual([
      expect.objectContaining({ id: 1, address: brokers, fenced: false }),
    ]);
    expect(c.coordinators).toEqual([expect.objectContaining({ id: 1, isLeader: true })]);
    expect(c.controllerId).toBe(1);
    expect(c.topics.find((t: { name: string }) => t.name === 'status')).toMatchObject({
      partitions: 2,
      withLeader: 2,
      offline: 0,
      leadersByBroker: { 1: 2 },
    });
    const text = (await strand('cluster')).stdout;
    expect(text).toMatch(/^cluster [0-9a-f-]{36}, controller 1$/m);
    expect(text).toMatch(/ID\s+ADDRESS\s+STATE\s+EPOCH/);
    expect(text).toMatch(/^1\s+\S+\s+alive/m);
    expect(text).toMatch(/^status\s+2\s+1:2\s+0\s+0$/m);
  });

  it("shows each node's readiness as its /readyz says, at the admin URL strand dev printed", async () => {
    const brokerAdmin = /admin \(metrics, health\): +broker (http:\S+),/.exec(
      dev.proc.output(),
    )![1]!;
    expect((await fetch(`${brokerAdmin}/readyz`)).status).toBe(200);
    const c = JSON.parse((await strand('cluster', '--json')).stdout);
    expect(c.brokers).toEqual([
      expect.objectContaining({
        id: 1,
        adminUrl: brokerAdmin,
        readiness: { ready: true, detail: '' },
      }),
    ]);
    expect(c.coordinators).toEqual([
      expect.objectContaining({ id: 1, readiness: { ready: true, detail: '' } }),
    ]);
    const text = (await strand('cluster')).stdout;
    expect(text).toMatch(/ID\s+ADDRESS\s+STATE\s+EPOCH\s+RACK\s+READINESS/);
    expect(text).toMatch(/^1\s+\S+\s+alive\s+\d+\s+-\s+ready$/m);
    expect(text).toMatch(/^1\s+\S+\s+\*\s+ready$/m);
  });
});

describe('bad input and strand dev itself', () => {
  it('rejects bad input with a one-line error and a non-zero exit', async () => {
    for (const args of [
      ['nope'],
      ['kv', 'put', 'only-key'],
      ['kv', 'get', 'k', '--consistency', 'maybe'],
      ['kv', 'frob'],
      ['cluster', 'extra'],
      ['dev', '--port', '70000'],
    ]) {
      const r = await strand(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    const badBootstrap = await exec(process.execPath, [
      CLI,
      'kv',
      'get',
      'k',
      '--bootstrap',
      'not-an-address',
    ]);
    expect(badBootstrap.code).toBe(2);
    expect(badBootstrap.stderr).toMatch(/bootstrap/);
  });

  it('says when nothing answers, or when the address is the wrong kind of node', async () => {
    const nobody = `127.0.0.1:${await freePort()}`;
    const down = await strand('topic', 'list', '--bootstrap', nobody);
    expect(down.code).toBe(1);
    expect(down.stderr).toBe(
      `strand: no Strand broker answers at ${nobody} (is \`pnpm dev\` running? set --bootstrap or STRAND_BOOTSTRAP)\n`,
    );
    const kvDown = await strand('kv', 'get', 'k', '--bootstrap', nobody, '--json');
    expect(JSON.parse(kvDown.stderr).error).toMatchObject({ code: 'UNAVAILABLE' });
    expect(kvDown.stderr).toMatch(/no Strand coordinator answers .*STRAND_KV_BOOTSTRAP/);

    const topicAtCoordinator = await strand('topic', 'list', '--bootstrap', coordinator);
    expect(topicAtCoordinator.code).toBe(2);
    expect(topicAtCoordinator.stderr).toMatch(
      new RegExp(
        `^strand: ${coordinator} is a coordinator; topic commands go to brokers \\(127\\.0\\.0\\.1:9092 in`,
      ),
    );
    const kvAtBroker = await strand('kv', 'get', 'k', '--bootstrap', brokers);
    expect(kvAtBroker.code).toBe(2);
    expect(kvAtBroker.stderr).toMatch(
      new RegExp(`^strand: ${brokers} is a broker; kv commands go to coordinators`),
    );
    expect(lines(kvAtBroker.stderr)).toHaveLength(1);
  });
});
