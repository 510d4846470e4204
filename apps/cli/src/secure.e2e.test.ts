import { readFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { join } from 'node:path';
import { ProcessRegistry, scrapeMetrics, tempDir } from '@strand/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, type DevCluster, exec, type Result, startDev } from './cli.test-util.js';

// `strand dev --secure` (TLS, users, ACLs) driven by the CLI's user and acl commands, as the
// banner says to connect.

const registry = new ProcessRegistry();
const dir = tempDir('strand-secure-');
let dev: DevCluster;
let adminEnv: NodeJS.ProcessEnv;
let aliceEnv: NodeJS.ProcessEnv;
const data = () => join(dir.path, 'data');

const strand = (env: NodeJS.ProcessEnv, ...args: string[]): Promise<Result> =>
  exec(process.execPath, [CLI, ...args], { env });
/** Through the shell, for stdin. */
const shell = (env: NodeJS.ProcessEnv, script: string): Promise<Result> =>
  exec('sh', ['-c', script], { env: { ...env, STRAND: `${process.execPath} ${CLI}` } });

beforeAll(async () => {
  dev = await startDev(registry, data(), { name: 'strand dev --secure', args: ['--secure'] });
  const ca = join(data(), 'pki', 'ca.pem');
  const password = readFileSync(join(data(), 'admin.password'), 'utf8').trim();
  adminEnv = { ...dev.env, STRAND_TLS_CA: ca, STRAND_USER: 'admin', STRAND_PASSWORD: password };
  aliceEnv = { ...dev.env, STRAND_TLS_CA: ca, STRAND_USER: 'alice', STRAND_PASSWORD: 'alice-pw-1' };
});
afterAll(async () => {
  await registry.stopAll();
  dir.cleanup();
});

async function until(what: string, fn: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('strand dev --secure with strand user and strand acl', () => {
  it('prints how to connect; a client without TLS or a user is refused', async () => {
    const banner = dev.proc.output();
    expect(banner).toContain(`STRAND_TLS_CA=${join(data(), 'pki', 'ca.pem')}`);
    expect(banner).toContain('STRAND_USER=admin');
    expect(banner).toMatch(/sasl: \{ username: 'alice'/);
    const plain = await strand(dev.env, 'topic', 'list');
    expect(plain.code).toBe(1);
    const anonymous = await strand({ ...adminEnv, STRAND_USER: '' }, 'topic', 'list');
    expect(anonymous.code).toBe(1);
    expect(anonymous.stderr).toMatch(/requires authentication/);
  });

  it('shows every node ready over HTTPS, prints how to scrape /metrics with its token; the console asks for a login', async () => {
    const banner = dev.proc.output();
    const admin = /admin \(metrics, health\): +broker (https:\S+), coordinator (https:\S+) /.exec(
      banner,
    );
    expect(admin).not.toBeNull();
    // strand cluster reads each node's HTTPS /readyz with the CA it connects with.
    const cluster = JSON.parse((await strand(adminEnv, 'cluster', '--json')).stdout);
    expect(cluster.brokers.map((b: { readiness: unknown }) => b.readiness)).toEqual([
      { ready: true, detail: '' },
    ]);
    expect(cluster.coordinators.map((c: { readiness: unknown }) => c.readiness)).toEqual([
      { ready: true, detail: '' },
    ]);
    // The banner's scrape line names the CA and the token file the nodes were given.
    const tokenFile = join(data(), 'metrics.token');
    const ca = readFileSync(join(data(), 'pki', 'ca.pem'));
    expect(banner).toContain(
      `curl --cacert ${join(data(), 'pki', 'ca.pem')} -H "Authorization: Bearer $(cat ${tokenFile})" ${admin![1]}/metrics`,
    );
    const token = readFileSync(tokenFile, 'utf8').trim();
    for (const url of [admin![1]!, admin![2]!]) {
      await expect(scrapeMetrics(url, { ca })).rejects.toThrow(/answered 401/);
      expect((await scrapeMetrics(url, { ca, token })).has('process_cpu_seconds_total')).toBe(true);
    }
    // The console is HTTPS, and asks for a login (it has no certificate of its own).
    const consoleUrl = /console \(in a browser\): +(https:\S+)/.exec(banner)![1]!;
    const answer = await new Promise<{ status?: number; location?: string }>((done, fail) =>
      httpsGet(`${consoleUrl}/topics`, { ca }, (res) => {
        res.resume();
        done({ status: res.statusCode, location: res.headers.location });
      }).on('error', fail),
    );
    expect(answer).toEqual({ status: 303, location: '/login?next=%2Ftopics' });
  });

  it('the admin creates users and ACLs; a user does only what they allow', async () => {
    const created = await shell(adminEnv, "echo 'alice-pw-1' | $STRAND user create alice");
    expect(created.stderr).toBe('');
    expect(created.stdout).toBe('created user alice (SCRAM-SHA-512)\n');
    const users = JSON.parse((await strand(adminEnv, 'user', 'list', '--json')).stdout);
    expect(users.map((u: { name: string }) => u.name)).toEqual(['admin', 'alice']);
    for (const t of ['orders.a', 'payments'])
      expect((await strand(adminEnv, 'topic', 'create', t)).code).toBe(0);
    expect((await shell(adminEnv, 'echo hello | $STRAND produce orders.a')).code).toBe(0);

    // Alice may not manage ACLs, nor read anything yet.
    const denied = await strand(
      aliceEnv,
      'acl',
      'add',
      '--allow-principal',
      'User:alice',
      '--operation',
      'all',
      '--cluster',
    );
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/CLUSTER_AUTHORIZATION_FAILED|may not alter the cluster/);
    expect(JSON.parse((await strand(aliceEnv, 'topic', 'list', '--json')).stdout)).toEqual([]);

    const added = await strand(
      adminEnv,
      ...['acl', 'add', '--allow-principal', 'User:alice', '--operation', 'Read'],
      ...['--topic', 'orders.', '--resource-pattern-type', 'prefixed'],
    );
    expect(added.stdout).toBe('added: allow User:alice read on topic orders.* from *\n');
    const listed = JSON.parse(
      (await strand(adminEnv, 'acl', 'list', '--principal', 'User:alice', '--json')).stdout,
    );
    expect(listed).toEqual([
      {
        resourceType: 'topic',
        patternType: 'prefixed',
        name: 'orders.',
        principal: 'User:alice',
        host: '*',
        operation: 'read',
        permission: 'allow',
      },
    ]);

    // The password from stdin this time.
    const aliceStdin = { ...aliceEnv, STRAND_PASSWORD: '' };
    await until('alice to read orders.a', async () => {
      const r = await shell(
        aliceStdin,
        "echo 'alice-pw-1' | $STRAND consume orders.a --from-beginning --count 1 --password-stdin",
      );
      return r.code === 0 && r.stdout === 'hello\n';
    });
    const topics = JSON.parse((await strand(aliceEnv, 'topic', 'list', '--json')).stdout);
    expect(topics.map((t: { name: string }) => t.name)).toEqual(['orders.a']);
    const produce = await shell(aliceEnv, 'echo no | $STRAND produce orders.a');
    expect(produce.code).toBe(1);
    expect(produce.stderr).toMatch(/may not/);

    // KV keys by prefix.
    await strand(
      adminEnv,
      'acl',
      'add',
      '--allow-principal',
      'User:alice',
      '--operation',
      'all',
      '--kv-prefix',
      'app/',
    );
    await until(
      'alice to write app/',
      async () => (await strand(aliceEnv, 'kv', 'put', 'app/x', '1')).code === 0,
    );
    const other = await strand(aliceEnv, 'kv', 'put', 'other', '1');
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/may not write key "other"/);

    // Removing by filter prints what it removed; alice is refused again.
    const removed = await strand(
      adminEnv,
      'acl',
      'remove',
      '--principal',
      'User:alice',
      '--topic',
      'orders.',
      '--resource-pattern-type',
      'prefixed',
    );
    expect(removed.stdout).toBe('removed: allow User:alice read on topic orders.* from *\n');
    await until('alice to be refused orders.a', async () => {
      const r = await strand(aliceEnv, 'consume', 'orders.a', '--from-beginning', '--count', '1');
      return (
        r.code === 1 && /TOPIC_AUTHORIZATION_FAILED|may not read topic "orders.a"/.test(r.stderr)
      );
    });
    expect(JSON.parse((await strand(adminEnv, 'acl', 'list', '--json')).stdout)).toHaveLength(1);
  });

  it('passwd changes the password; delete ends the user', async () => {
    const passwd = await shell(adminEnv, "echo 'alice-pw-2' | $STRAND user passwd alice");
    expect(passwd.stdout).toBe('changed the password of alice (SCRAM-SHA-512)\n');
    const old = await strand(aliceEnv, 'kv', 'get', 'app/x');
    expect(old.code).toBe(1);
    expect(old.stderr).toMatch(/unknown user or wrong password/);
    const fresh = await strand(
      { ...aliceEnv, STRAND_PASSWORD: 'alice-pw-2' },
      'kv',
      'get',
      'app/x',
    );
    expect(fresh.stdout).toBe('1\n');
    expect((await strand(adminEnv, 'user', 'delete', 'alice')).stdout).toBe('deleted user alice\n');
    const gone = await strand({ ...aliceEnv, STRAND_PASSWORD: 'alice-pw-2' }, 'kv', 'get', 'app/x');
    expect(gone.code).toBe(1);
    // Bad flags are usage errors, before anything is contacted.
    const usage = await strand(
      adminEnv,
      'acl',
      'add',
      '--allow-principal',
      'alice',
      '--operation',
      'read',
      '--topic',
      't',
    );
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/User:<name>/);
  });
});
