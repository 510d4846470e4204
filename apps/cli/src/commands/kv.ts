import { readFileSync } from 'node:fs';
import type { KeyValue, KvClient, TxnResult } from '@strand/client';
import { ErrorCode, StrandError } from '@strand/wire';
import { durationText, flag } from '../cli/flags.js';
import { show, table } from '../cli/output.js';
import { type Command, type Context, command } from '../cli/spec.js';
import { UsageError } from '../cli/usage.js';
import { kvClient } from './common.js';
import { member } from './kv-member.js';
import { snapshot } from './kv-snapshot.js';
import { parseTxn } from './kv-txn.js';

export const kvJson = (kv: KeyValue) => ({
  key: show(kv.key),
  value: show(kv.value),
  createRevision: kv.createRevision,
  modRevision: kv.modRevision,
  version: kv.version,
  lease: kv.lease,
});

const kvTable = (kvs: KeyValue[]) =>
  table(
    kvs.map((kv) => ({
      key: show(kv.key),
      value: show(kv.value),
      version: kv.version,
      mod: kv.modRevision,
      lease: kv.lease || '',
    })),
    '(no keys)',
  );

async function withKv(ctx: Context, f: (kv: KvClient) => Promise<void>): Promise<number> {
  const client = kvClient(ctx);
  try {
    await f(client);
    return 0;
  } finally {
    client.close();
  }
}

const consistency = flag.choice(
  ['linearizable', 'stale'],
  'linearizable: the current value, confirmed by a quorum; stale: whatever the node asked has, maybe behind',
  { default: 'linearizable' },
);
const limit = flag.int('at most N keys (0: all)', { default: 0 });
const KEY = { name: 'KEY', help: 'the key (any text)' };
const END = {
  name: 'RANGE_END',
  help: 'with it, every key in [KEY, RANGE_END), in byte order',
  optional: true,
};

const put = command({
  name: 'put',
  summary: 'set a key to a value',
  args: [KEY, { name: 'VALUE', help: 'the value (any text)' }],
  flags: {
    lease: flag.int('attach the key to this lease: it goes when the lease does', {
      min: 1,
      placeholder: 'ID',
    }),
  },
  target: 'coordinators',
  examples: [
    { command: 'strand kv put greeting hello', note: 'prints the revision the store reached' },
    { command: 'strand kv put session/42 alive --lease 7587862' },
  ],
  run: (ctx) =>
    withKv(ctx, async (kv) => {
      const [key, value] = ctx.args as [string, string];
      const lease = ctx.flags.lease;
      const r = await kv.put(key, value, lease ? { lease } : {});
      ctx.out.result({ key, revision: r.revision }, `OK (revision ${r.revision})`);
    }),
});

const get = command({
  name: 'get',
  summary: 'the value of a key (or of every key under a prefix or in a range)',
  description:
    'Prints the value of KEY. A key that does not exist is an error: exit status 1, KEY_NOT_FOUND on stderr and nothing on stdout (etcdctl instead prints nothing and exits 0), so scripts can tell a missing key from an empty value. With --prefix or RANGE_END it lists keys instead (as etcdctl does), and an empty list is not an error.',
  args: [KEY, END],
  flags: {
    prefix: flag.bool('every key that starts with KEY'),
    consistency,
    limit,
  },
  target: 'coordinators',
  examples: [
    { command: 'strand kv get greeting' },
    { command: 'strand kv get greeting --consistency stale' },
    { command: 'strand kv get app/ --prefix --json' },
  ],
  check: ({ args, flags }) => {
    if (flags.prefix && args[1] !== undefined)
      throw new UsageError('give --prefix or RANGE_END, not both', ['kv', 'get']);
  },
  run: (ctx) =>
    withKv(ctx, async (kv) => {
      const [key, end] = ctx.args as [string, string | undefined];
      const { prefix, consistency: c, limit: n } = ctx.flags;
      if (prefix || end !== undefined) {
        const r = await kv.range(key, {
          consistency: c,
          limit: n,
          ...(end !== undefined ? { end } : {}),
        });
        ctx.out.result(r.kvs.map(kvJson), () => kvTable(r.kvs));
        return;
      }
      const found = await kv.get(key, { consistency: c });
      if (!found) throw new StrandError(ErrorCode.KeyNotFound, `no key "${key}"`);
      ctx.out.result(kvJson(found), show(found.value));
    }),
});

const range = command({
  name: 'range',
  summary: 'keys under a prefix, or in [FROM, TO)',
  description:
    'With one argument, every key that starts with FROM (`strand kv range app/` lists app/a and app/b, not apple); with two, every key in [FROM, TO) in byte order, as `etcdctl get FROM TO` does.',
  args: [
    { name: 'FROM', help: 'the prefix, or the first key of the range' },
    { name: 'TO', help: 'the end of the range (not included)', optional: true },
  ],
  flags: { consistency, limit },
  target: 'coordinators',
  examples: [
    { command: 'strand kv range app/' },
    { command: 'strand kv range app/a app/c --json', note: 'app/a, app/b... but not app/c' },
  ],
  run: (ctx) =>
    withKv(ctx, async (kv) => {
      const [from, to] = ctx.args as [string, string | undefined];
      const r = await kv.range(from, {
        consistency: ctx.flags.consistency,
        limit: ctx.flags.limit,
        ...(to !== undefined ? { end: to } : {}),
      });
      ctx.out.result(r.kvs.map(kvJson), () => kvTable(r.kvs));
    }),
});

const del = command({
  name: 'del',
  aliases: ['delete', 'rm'],
  summary: 'delete a key (or every key under a prefix or in a range)',
  args: [KEY, END],
  flags: { prefix: flag.bool('every key that starts with KEY') },
  target: 'coordinators',
  examples: [{ command: 'strand kv del greeting' }, { command: 'strand kv del app/ --prefix' }],
  check: ({ args, flags }) => {
    if (flags.prefix && args[1] !== undefined)
      throw new UsageError('give --prefix or RANGE_END, not both', ['kv', 'del']);
  },
  run: (ctx) =>
    withKv(ctx, async (kv) => {
      const [key, end] = ctx.args as [string, string | undefined];
      const r = await kv.delete(key, {
        prefix: ctx.flags.prefix,
        ...(end !== undefined ? { end } : {}),
      });
      ctx.out.result(r, `deleted ${r.deleted}`);
    }),
});

const watch = command({
  name: 'watch',
  summary: 'print changes to a key or prefix as they happen',
  description:
    'Prints one line per change (PUT key value, DELETE key) until Ctrl-C, or until --count changes. With --from-revision it first replays the history from that revision.',
  args: [{ name: 'KEY', help: 'the key, or the prefix with --prefix' }],
  flags: {
    prefix: flag.bool('every key that starts with KEY'),
    'from-revision': flag.int('replay changes from this revision on (0: only new ones)', {
      default: 0,
      placeholder: 'R',
    }),
    count: flag.int('stop after N changes', { min: 1 }),
  },
  target: 'coordinators',
  examples: [
    { command: 'strand kv watch app/ --prefix --from-revision 1' },
    { command: 'strand kv watch greeting --count 1' },
  ],
  run: (ctx) =>
    withKv(ctx, async (kv) => {
      let seen = 0;
      for await (const events of kv.watch(ctx.args[0]!, {
        prefix: ctx.flags.prefix,
        fromRevision: ctx.flags['from-revision'],
        signal: ctx.signal,
      })) {
        for (const e of events) {
          const line =
            e.type === 'put'
              ? `PUT ${show(e.kv.key)} ${show(e.kv.value)}`
              : `DELETE ${show(e.kv.key)}`;
          if (!(await ctx.out.item({ type: e.type, ...kvJson(e.kv) }, line))) return;
          seen += 1;
          if (ctx.flags.count !== undefined && seen >= ctx.flags.count) return;
        }
      }
    }),
});

const members = command({
  name: 'members',
  summary: 'the coordinators: who leads, the term, the applied index',
  target: 'coordinators',
  examples: [{ command: 'strand kv members' }],
  run: (ctx) =>
    withKv(ctx, async (kv) => {
      const m = await kv.members();
      ctx.out.result(
        m,
        () =>
          `${table(m.members.map((x) => ({ id: x.id, address: x.address, leader: x.isLeader ? '*' : '' })))}\nterm ${m.term}, revision ${m.revision}, applied ${m.appliedIndex} (answered by ${m.answeredBy})`,
      );
    }),
});

const LEASE = { name: 'ID', help: 'the lease id (what grant printed)' };
const leaseId = (s: string) => {
  if (!/^\d+$/.test(s) || Number(s) < 1 || !Number.isSafeInteger(Number(s)))
    throw new UsageError(`the lease id must be a whole number of 1 or more, got "${s}"`, [
      'kv',
      'lease',
    ]);
  return Number(s);
};
const MAX_TTL_MS = 7 * 24 * 3600 * 1000;
const seconds = (ms: number) => `${Math.round(ms / 100) / 10}s`;

const lease: Command = {
  name: 'lease',
  summary: 'grant, revoke, keep alive and list leases (keys that expire unless kept alive)',
  subcommands: [
    command({
      name: 'grant',
      summary: 'a new lease: keys put with it vanish TTL after its last keep-alive',
      args: [
        {
          name: 'TTL',
          help: 'its time to live: 30s, 500ms, 5m (a bare number is seconds, as in etcdctl)',
        },
      ],
      target: 'coordinators',
      examples: [{ command: 'strand kv lease grant 30s' }],
      run: (ctx) =>
        withKv(ctx, async (kv) => {
          const r = durationText('s', 100).safeParse(ctx.args[0]);
          if (!r.success || r.data > MAX_TTL_MS)
            throw new UsageError(
              `TTL: expected a duration from 100ms to 7 days, like 30s, got "${ctx.args[0]}"`,
              ['kv', 'lease', 'grant'],
            );
          const id = await kv.leaseGrant(r.data);
          ctx.out.result({ id, ttlMs: r.data }, `lease ${id} granted with TTL ${seconds(r.data)}`);
        }),
    }),
    command({
      name: 'revoke',
      summary: 'end a lease now, deleting its keys',
      args: [LEASE],
      target: 'coordinators',
      examples: [{ command: 'strand kv lease revoke 7587862' }],
      run: (ctx) =>
        withKv(ctx, async (kv) => {
          const id = leaseId(ctx.args[0]!);
          await kv.leaseRevoke(id);
          ctx.out.result({ id, revoked: true }, `lease ${id} revoked`);
        }),
    }),
    command({
      name: 'keep-alive',
      summary: "restart a lease's clock, again and again until Ctrl-C (or once)",
      args: [LEASE],
      flags: { once: flag.bool('one keep-alive, then exit') },
      target: 'coordinators',
      examples: [
        { command: 'strand kv lease keep-alive 7587862' },
        { command: 'strand kv lease keep-alive 7587862 --once' },
      ],
      run: (ctx) =>
        withKv(ctx, async (kv) => {
          const id = leaseId(ctx.args[0]!);
          for (;;) {
            const { ttlMs } = await kv.leaseKeepAlive(id);
            await ctx.out.item({ id, ttlMs }, `lease ${id} kept alive (TTL ${seconds(ttlMs)})`);
            if (ctx.flags.once) return;
            // A third of the TTL between keep-alives, as etcdctl does.
            await new Promise<void>((done) => {
              const t = setTimeout(done, Math.max(100, Math.floor(ttlMs / 3)));
              ctx.signal.addEventListener('abort', () => {
                clearTimeout(t);
                done();
              });
            });
            if (ctx.signal.aborted) return;
          }
        }),
    }),
    command({
      name: 'list',
      aliases: ['ls'],
      summary: 'every live lease: TTL, time left, keys attached',
      target: 'coordinators',
      examples: [{ command: 'strand kv lease list' }],
      run: (ctx) =>
        withKv(ctx, async (kv) => {
          const leases = await kv.leases();
          ctx.out.result(leases, () =>
            table(
              leases.map((l) => ({
                id: l.id,
                ttl: seconds(l.ttlMs),
                left: seconds(l.remainingMs),
                keys: l.keys,
              })),
              '(no leases)',
            ),
          );
        }),
    }),
  ],
};

/** What a txn operation answered, as data and as text. */
function txnResult(r: TxnResult): { data: unknown; text: string } {
  if ('get' in r)
    return {
      data: { get: r.get.map(kvJson) },
      text:
        r.get.length === 0
          ? '(no keys)'
          : r.get.map((k) => `${show(k.key)}\n${show(k.value)}`).join('\n'),
    };
  if ('deleted' in r) return { data: r, text: `deleted ${r.deleted}` };
  return { data: { put: 'OK' }, text: 'OK' };
}

const txn = command({
  name: 'txn',
  summary: 'if every compare holds run some operations, else others: atomically, in one revision',
  description: `Reads a transaction from stdin (or --file) in etcdctl's format: compares, a blank line, the operations to run when every compare holds, a blank line, the operations to run otherwise. Prints SUCCESS or FAILURE, then what each operation answered.

Compares: value("KEY") = "V", version("KEY") > N, create("KEY") = N, mod("KEY") < N (operators =, !=, <, >; a key that does not exist has version 0). Operations: put KEY VALUE, del KEY [--prefix], get KEY [--prefix]. Keys and values are words or "quoted strings".`,
  flags: { file: flag.string('read the transaction from this file', { placeholder: 'FILE' }) },
  target: 'coordinators',
  examples: [
    {
      command: `printf 'version("lock") = 0\\n\\nput lock me\\n\\nget lock\\n' | strand kv txn`,
      note: 'take a lock only if nobody holds it; otherwise show who does',
    },
  ],
  run: async (ctx) => {
    const fromTerminal = ctx.flags.file === undefined && process.stdin.isTTY === true;
    if (fromTerminal)
      ctx.out.note(
        'strand: compares, blank line, success ops, blank line, failure ops; Ctrl-D ends',
      );
    let text: string;
    try {
      text = readFileSync(ctx.flags.file ?? 0, 'utf8');
    } catch (err) {
      throw new UsageError(`cannot read ${ctx.flags.file ?? 'stdin'}: ${(err as Error).message}`, [
        'kv',
        'txn',
      ]);
    }
    const spec = parseTxn(text);
    return withKv(ctx, async (kv) => {
      const r = await kv.txn(spec.compares, spec.success, spec.failure);
      const results = r.responses.map(txnResult);
      ctx.out.result(
        { succeeded: r.succeeded, revision: r.revision, responses: results.map((x) => x.data) },
        () => [r.succeeded ? 'SUCCESS' : 'FAILURE', ...results.map((x) => x.text)].join('\n'),
      );
    });
  },
});

export const kv: Command = {
  name: 'kv',
  summary:
    'the replicated key-value store: put, get, range, del, watch, txn, leases, members, membership, backups',
  description:
    "Strand's Raft-replicated key-value store, as etcdctl shows etcd's: versions, compare-and-set transactions, watches, leases, and a choice between linearizable and stale reads. Keys under /strand/ hold the cluster's own metadata.",
  subcommands: [put, get, range, del, watch, txn, lease, members, member, snapshot],
};
