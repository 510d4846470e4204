import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Admin, Consumer, KvClient, Producer } from '@strand/client';
import type { PkiFiles } from '@strand/security';
import { adminUrlOf, eventually, freePort, ProcessRegistry, tempDir } from '@strand/testkit';
import {
  AuthenticationFailedError,
  AuthorizationFailedError,
  ErrorCode,
  UserExistsError,
} from '@strand/wire';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allowAll, startSecuredCluster, type TopicCluster } from './cluster.test-util.js';
import { tool } from './kafka/client.test-util.js';

// SCRAM authentication on gRPC: users in the KV store, managed by a super user, tokens on
// every call to every node, and everyone else refused before anything changes.

type RawCall = (service: 'KV', method: string, req: unknown) => Promise<unknown>;
type RawRange = { kvs: { key: Buffer }[]; count: number; more: boolean };
const registry = new ProcessRegistry();
const dir = tempDir('strand-auth-');
let cluster: TopicCluster;
let files: PkiFiles;
const read = (p: string) => readFileSync(p);
const PASSWORD = 'correct horse battery staple';
const prometheus = tool('/usr/bin/prometheus');
const README = join(fileURLToPath(import.meta.url), '..', '..', '..', '..', 'README.md');
/** What a Prometheus scraper sends for /metrics (its `authorization.credentials_file`). */
const METRICS_TOKEN = 'scraper-token-0123456789';
const tokenFile = () => join(dir.path, 'metrics-token');

beforeAll(async () => {
  // Authorization is on with authentication: users may use every topic, group and key (but
  // not the cluster: managing users stays the admin's).
  writeFileSync(tokenFile(), `${METRICS_TOKEN}\n`);
  ({ cluster, files } = await startSecuredCluster(registry, 2, dir.path, {
    acls: allowAll('User:*', ['topic', 'group', 'kv']),
    admin: true,
    nodeArgs: ['--metrics-token-file', tokenFile()],
  }));
});
afterAll(async () => {
  await registry.stopAll();
  cluster?.cleanup();
  dir.cleanup();
});

const ca = () => ({ ca: read(files.ca) });
/** The admin: a client certificate whose CN is a super user. */
const adminTls = () => ({
  ...ca(),
  cert: read(files.cert('admin')),
  key: read(files.key('admin')),
});
const as = (username: string, password = PASSWORD, mechanism?: 'SCRAM-SHA-256' | 'PLAIN') => ({
  tls: ca(),
  sasl: { username, password, ...(mechanism ? { mechanism } : {}) },
});
const coordinator = () => [cluster.coordinator];

async function until<T>(what: string, fn: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('SCRAM authentication on gRPC', () => {
  it('a client with no user is refused by brokers and coordinators, and nothing changes', async () => {
    const anonymous = new Admin({ bootstrap: cluster.bootstrap, tls: ca(), retries: 0 });
    const err = await anonymous
      .createTopic({ name: 'nope', partitions: 1, replicationFactor: 1 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthenticationFailedError);
    expect((err as Error).message).toMatch(/requires authentication/);
    await anonymous.close();
    const kv = new KvClient({ bootstrap: coordinator(), tls: ca(), retries: 0 });
    await expect(kv.put('anon/k', 'v')).rejects.toBeInstanceOf(AuthenticationFailedError);
    kv.close();
    // The admin sees neither.
    const admin = new Admin({ bootstrap: cluster.bootstrap, tls: adminTls() });
    expect((await admin.listTopics()).map((t) => t.name)).not.toContain('nope');
    await admin.close();
    const adminKv = new KvClient({ bootstrap: coordinator(), tls: adminTls() });
    expect(await adminKv.get('anon/k')).toBeUndefined();
    adminKv.close();
  });

  it('a super user creates users; users produce, consume and use the KV store by SCRAM-SHA-512, SCRAM-SHA-256 and PLAIN', async () => {
    const admin = new Admin({ bootstrap: cluster.bootstrap, tls: adminTls() });
    await admin.createUser('alice', PASSWORD);
    await admin.createUser('bob', PASSWORD, { mechanism: 'SCRAM-SHA-256', iterations: 8192 });
    await expect(admin.createUser('alice', 'other')).rejects.toBeInstanceOf(UserExistsError);
    expect(await admin.listUsers()).toEqual([
      { name: 'alice', mechanisms: ['SCRAM-SHA-512'] },
      { name: 'bob', mechanisms: ['SCRAM-SHA-256'] },
    ]);
    await admin.createTopic({ name: 'orders', partitions: 2, replicationFactor: 2 });
    await admin.close();

    const producer = new Producer({ bootstrap: cluster.bootstrap, ...as('alice') });
    await Promise.all(
      Array.from({ length: 10 }, (_, i) => producer.send({ topic: 'orders', value: `o${i}` })),
    );
    await producer.close();
    const consumer = new Consumer({
      bootstrap: cluster.bootstrap,
      ...as('bob', PASSWORD, 'SCRAM-SHA-256'),
    });
    await consumer.assignTopic('orders', 'beginning');
    const seen: string[] = [];
    await until('the records', async () => {
      for (const r of await consumer.poll()) seen.push(String(r.value));
      return seen.length >= 10 ? true : undefined;
    });
    await consumer.close();
    expect(seen.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `o${i}`).sort());

    const kv = new KvClient({ bootstrap: coordinator(), ...as('alice', PASSWORD, 'PLAIN') });
    await kv.put('app/config', 'on');
    expect((await kv.get('app/config'))?.value.toString()).toBe('on');
    // Users' credentials and the token key are for the nodes alone: absent to a user...
    const users = await kv.range('/strand/users/', { exact: false });
    expect(users.kvs).toEqual([]);
    expect(users.count).toBe(0); // not even how many there are
    // ...nor in a txn's range (etcd clients read its count and more, which the SDK's txn drops):
    // it answers what Range does, cut after leaving out the token key and the users.
    const rawCall = (kv as unknown as { call: RawCall }).call.bind(kv);
    const inTxn = async (range: object) =>
      (
        (await rawCall('KV', 'Txn', { success: [{ range }] })) as {
          responses: { range: RawRange }[];
        }
      ).responses[0]!.range;
    const keys = (r: RawRange) => r.kvs.map((x) => x.key.toString());
    expect(await inTxn({ key: Buffer.from('/strand/users/'), prefix: true })).toMatchObject({
      kvs: [],
      count: 0,
      more: false,
    });
    for (const limit of [0, 1]) {
      const range = {
        key: Buffer.from('/strand/security/'),
        range_end: Buffer.from('/strand/z'),
        limit,
      };
      const plain = (await rawCall('KV', 'Range', range)) as RawRange;
      const txn = await inTxn(range);
      expect(keys(plain).length).toBe(limit || plain.count);
      expect([keys(txn), txn.count, txn.more]).toEqual([keys(plain), plain.count, plain.more]);
    }
    // ...nor does a compare on one tell whether it exists.
    await expect(
      kv.txn([{ key: '/strand/users/alice', target: 'version', op: '>', value: 0 }], []),
    ).rejects.toBeInstanceOf(AuthorizationFailedError);
    expect(await kv.get('/strand/security/token-key')).toBeUndefined();
    kv.close();
    // ...present to a super user.
    const adminKv = new KvClient({ bootstrap: coordinator(), tls: adminTls() });
    expect((await adminKv.range('/strand/users/')).kvs.map((k) => k.key.toString()).sort()).toEqual(
      ['/strand/users/alice', '/strand/users/bob'],
    );
    adminKv.close();
  });

  it('a wrong password or an unknown user is refused alike, logged without the password, and rate-limited', async () => {
    for (const [user, password] of [
      ['alice', 'wrong password'],
      ['mallory', PASSWORD],
    ] as const) {
      const admin = new Admin({ bootstrap: cluster.bootstrap, ...as(user, password), retries: 0 });
      const err = await admin.listTopics().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AuthenticationFailedError);
      expect((err as Error).message).toMatch(/unknown user or wrong password/);
      await admin.close();
    }
    const broker = cluster.brokers.get(1)!.proc;
    // Structured: who, how and from where as fields, the reason beside them.
    await broker.waitFor(
      /authentication failed user=alice mechanism=SCRAM-SHA-512 remote=\S+ reason=.*wrong password for \\"alice\\"/,
    );
    await broker.waitFor(/authentication failed user=mallory .*unknown user \\"mallory\\"/);
    expect(broker.output()).not.toContain('wrong password"');
    expect(broker.output()).not.toContain(PASSWORD);
    // One connection that keeps failing is refused unchecked for a while.
    const kv = new KvClient({ bootstrap: coordinator(), ...as('alice', 'guess'), retries: 0 });
    const messages: string[] = [];
    for (let i = 0; i < 7; i++)
      messages.push(
        await kv.get('x').then(
          () => 'ok',
          (e: Error) => e.message,
        ),
      );
    kv.close();
    expect(messages.at(-1)).toMatch(/too many failed authentications/);
  });

  it('a user may not manage users', async () => {
    const admin = new Admin({ bootstrap: cluster.bootstrap, ...as('alice') });
    const err = await admin.createUser('eve', PASSWORD).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthorizationFailedError);
    expect((err as AuthorizationFailedError).code).toBe(ErrorCode.ClusterAuthorizationFailed);
    await admin.close();
  });

  it("a lease is its granter's: another user may not keep it alive, put with it or revoke it", async () => {
    const alice = new KvClient({ bootstrap: coordinator(), ...as('alice'), retries: 0 });
    const bob = new KvClient({
      bootstrap: coordinator(),
      ...as('bob', PASSWORD, 'SCRAM-SHA-256'),
      retries: 0,
    });
    const adminKv = new KvClient({ bootstrap: coordinator(), tls: adminTls() });
    const lease = await alice.leaseGrant(60_000);
    await alice.put('app/held', 'by alice', { lease });
    const refusals = [
      () => bob.leaseKeepAlive(lease),
      () => bob.put('app/bob', 'x', { lease }),
      () => bob.txn([], [{ put: { key: 'app/bob', value: 'x', lease } }]),
      () => bob.leaseRevoke(lease),
    ];
    for (const attempt of refusals) {
      const err = await attempt().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AuthorizationFailedError);
      expect((err as Error).message).toMatch(
        new RegExp(`User:bob may not use lease ${lease}: only User:alice, who granted it, may`),
      );
    }
    // Nothing changed: bob's key was not made, alice's is there, on its lease.
    expect(await alice.get('app/bob')).toBeUndefined();
    expect((await alice.get('app/held'))?.lease).toBe(lease);
    // Its granter and super users (the nodes, an admin) may.
    expect((await alice.leaseKeepAlive(lease)).ttlMs).toBe(60_000);
    expect((await adminKv.leaseKeepAlive(lease)).ttlMs).toBe(60_000);
    await alice.leaseRevoke(lease);
    expect(await alice.get('app/held')).toBeUndefined();
    for (const c of [alice, bob, adminKv]) c.close();
  });

  it('a user deleted mid-session is refused at its next call, by brokers and coordinators', async () => {
    const admin = new Admin({ bootstrap: cluster.bootstrap, tls: adminTls() });
    await admin.createUser('carol', PASSWORD);
    const producer = new Producer({ bootstrap: cluster.bootstrap, ...as('carol'), retries: 0 });
    await producer.send({ topic: 'orders', value: 'before', partition: 0 });
    await producer.send({ topic: 'orders', value: 'before', partition: 1 });
    const kv = new KvClient({ bootstrap: coordinator(), ...as('carol'), retries: 0 });
    await kv.put('carol/k', 'v');
    await admin.deleteUser('carol');
    for (const partition of [0, 1])
      await until(`partition ${partition}'s leader to refuse carol`, () =>
        producer.send({ topic: 'orders', value: 'after', partition }).then(
          () => undefined,
          (e: unknown) => (e instanceof AuthenticationFailedError ? e : undefined),
        ),
      );
    // An open stream ends; the next one is refused.
    const err = await until('the coordinator to refuse carol', () =>
      kv.put('carol/k', 'w').then(
        () => undefined,
        (e: unknown) => (e instanceof AuthenticationFailedError ? e : undefined),
      ),
    );
    expect(err.message).toMatch(/deleted/);
    expect((await admin.listUsers()).map((u) => u.name)).toEqual(['alice', 'bob']);
    await producer.close().catch(() => undefined);
    kv.close();
    await admin.close();
  });

  it('the admin port answers HTTPS with the node certificate; /metrics wants the bearer token, the probes do not', async () => {
    /** GET over HTTPS, trusting the cluster's CA: the status and the body. */
    const get = (url: string, token?: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const headers = token ? { authorization: `Bearer ${token}` } : {};
        httpsGet(url, { ca: read(files.ca), headers }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => {
            body += c.toString();
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        }).on('error', reject);
      });
    const procs = [...cluster.coordinators.values(), ...cluster.brokers.values()].map(
      (x) => x.proc,
    );
    for (const proc of procs) {
      const url = adminUrlOf(proc);
      expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect((await get(`${url}/healthz`)).status).toBe(200);
      expect((await get(`${url}/readyz`)).status).toBe(200);
      expect(await get(`${url}/metrics`)).toMatchObject({ status: 401 });
      expect((await get(`${url}/metrics`, 'not-the-token-at-all')).status).toBe(401);
      const m = await get(`${url}/metrics`, METRICS_TOKEN);
      expect(m.status).toBe(200);
      expect(m.body).toMatch(/^strand_(broker_registered|raft_has_leader) 1$/m);
      // Plain HTTP is not served there.
      await expect(fetch(`${url.replace('https:', 'http:')}/healthz`)).rejects.toThrow();
    }
    // Brokers register the HTTPS URL: what tools find through DescribeCluster.
    const admin = new Admin({ bootstrap: cluster.bootstrap, tls: adminTls() });
    const { brokers } = await admin.describeCluster();
    await admin.close();
    expect(brokers.map((b) => b.adminUrl)).toEqual(
      [...cluster.brokers.values()].map((b) => adminUrlOf(b.proc)),
    );
  });

  it.skipIf(!prometheus.present)(
    "a real Prometheus scrapes every node with the README's scrape config, its security blocks uncommented",
    async () => {
      const block = /```yaml\n(scrape_configs:[\s\S]*?)```/.exec(readFileSync(README, 'utf8'))![1]!;
      const targets = (procs: { proc: Parameters<typeof adminUrlOf>[0] }[]) =>
        `[${procs.map((x) => `'${new URL(adminUrlOf(x.proc)).host}'`).join(', ')}]`;
      // As written, but for this cluster's files and ports and a quick first scrape.
      const config = block
        .replace(/^(\s*)# /gm, '$1')
        .replace('/etc/strand/ca.pem', files.ca)
        .replace('/etc/strand/metrics-token', tokenFile())
        .replace('scrape_interval: 15s', 'scrape_interval: 1s')
        .replace(/\[[^\]]*coordinator-1[^\]]*\]/, targets([...cluster.coordinators.values()]))
        .replace(/\[[^\]]*broker-1[^\]]*\]/, targets([...cluster.brokers.values()]));
      const home = join(dir.path, 'prometheus');
      mkdirSync(home, { recursive: true });
      writeFileSync(join(home, 'prometheus.yml'), config);
      const web = `127.0.0.1:${await freePort()}`;
      const proc = spawn(
        '/usr/bin/prometheus',
        [
          `--config.file=${join(home, 'prometheus.yml')}`,
          `--storage.tsdb.path=${join(home, 'data')}`,
          `--web.listen-address=${web}`,
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let stderr = '';
      proc.stderr.on('data', (c: Buffer) => {
        stderr += c.toString();
      });
      const exited = new Promise((resolve) => proc.on('exit', resolve));
      try {
        const query = async (q: string) => {
          const res = await fetch(`http://${web}/api/v1/query?query=${encodeURIComponent(q)}`);
          const body = (await res.json()) as {
            data: { result: { metric: Record<string, string>; value: [number, string] }[] };
          };
          return body.data.result;
        };
        const up = await eventually(
          'every node scraped',
          async () => {
            const r = await query('up').catch(() => []);
            return r.length === 3 && r.every((x) => x.value[1] === '1') ? r : undefined;
          },
          60_000,
        ).catch((err: Error) => {
          throw new Error(`${err.message}; prometheus said:\n${stderr.slice(-2000)}`);
        });
        expect(up.map((x) => x.metric.role).sort()).toEqual(['broker', 'broker', 'coordinator']);
        expect((await query('strand_broker_registered')).map((x) => x.value[1])).toEqual([
          '1',
          '1',
        ]);
        expect((await query('strand_raft_has_leader')).map((x) => x.value[1])).toEqual(['1']);
      } finally {
        proc.kill('SIGTERM');
        await exited;
      }
    },
    90_000,
  );

  it("no node's log holds a password or a token, whatever the mechanism", async () => {
    const procs = [...cluster.coordinators.values(), ...cluster.brokers.values()].map(
      (x) => x.proc,
    );
    for (const proc of procs) {
      const text = proc.output();
      for (const secret of [
        PASSWORD,
        'guess',
        Buffer.from(PASSWORD).toString('base64'),
        METRICS_TOKEN,
        'not-the-token-at-all',
      ])
        expect(text, proc.name).not.toContain(secret);
      // A field named like a secret is censored wherever a record has it.
      for (const rec of proc.records)
        for (const [k, v] of Object.entries(rec))
          if (/token|password|secret/i.test(k)) expect(v, `${proc.name}: ${k}`).toBe('[redacted]');
    }
  });
});
