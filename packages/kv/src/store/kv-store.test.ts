import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompactedError } from '@strand/wire';
import { afterEach, describe, expect, it } from 'vitest';
import { KvDb, prefixEnd } from '../storage/db.js';
import type { KvCommand } from './command.js';
import { encodeKvCommand, encodeKvCommands, UnsupportedFormatError } from './command-codec.js';
import { type KvResult, KvStateMachine, type WatchEvent } from './kv-store.js';

const dirs: string[] = [];
const dbs: KvDb[] = [];
afterEach(async () => {
  for (const db of dbs.splice(0)) await db.close().catch(() => undefined);
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function open(dir?: string): Promise<{ sm: KvStateMachine; db: KvDb; dir: string }> {
  const path = dir ?? mkdtempSync(join(tmpdir(), 'strand-kv-'));
  if (!dir) dirs.push(path);
  const db = await KvDb.open(path);
  dbs.push(db);
  return { sm: await KvStateMachine.open(db), db, dir: path };
}

const b = (s: string) => Buffer.from(s);
let index = 0;
async function apply(sm: KvStateMachine, ...cmds: KvCommand[]): Promise<KvResult[]> {
  const entries = cmds.map((c, i) => ({
    index: ++index,
    term: 1,
    data: encodeKvCommand(c, `r${index}-${i}`),
  }));
  const results = await sm.applyEntries(entries);
  return [...results.values()];
}

describe('KvStateMachine', () => {
  it('counts its keys, leases and open watches', async () => {
    index = 0;
    const { sm } = await open();
    expect(sm.stats()).toEqual({ keys: 0, leases: 0, watches: 0, rows: 0 });
    await apply(sm, { t: 'leaseGrant', id: 7, ttlMs: 60_000 });
    await apply(
      sm,
      { t: 'put', key: b('a'), value: b('1') },
      { t: 'put', key: b('b'), value: b('2') },
    );
    const cancel = await sm.watch(b('a'), undefined, 0, () => undefined);
    expect(sm.stats()).toEqual({ keys: 2, leases: 1, watches: 1, rows: 0 });
    cancel();
    await apply(sm, { t: 'del', key: b('a') });
    expect(sm.stats()).toEqual({ keys: 1, leases: 1, watches: 0, rows: 0 });
  });

  it('tracks revision, createRevision, modRevision and version like etcd', async () => {
    index = 0;
    const { sm } = await open();
    await apply(sm, { t: 'put', key: b('a'), value: b('1') });
    await apply(sm, { t: 'put', key: b('a'), value: b('2') });
    await apply(sm, { t: 'put', key: b('b'), value: b('x') });
    const [a] = sm.range(b('a')).kvs;
    expect(a).toMatchObject({ createRevision: 1, modRevision: 2, version: 2, value: b('2') });
    expect(sm.revision).toBe(3);
    const [del] = await apply(sm, { t: 'del', key: b('a'), prevKv: true });
    expect(del).toMatchObject({ t: 'del', deleted: 1, revision: 4 });
    // Deleting nothing does not move the revision.
    const [none] = await apply(sm, { t: 'del', key: b('zzz') });
    expect(none).toMatchObject({ deleted: 0, revision: 4 });
    await apply(sm, { t: 'put', key: b('a'), value: b('3') });
    expect(sm.range(b('a')).kvs[0]).toMatchObject({ createRevision: 5, version: 1 });
    expect(sm.range(b(''), prefixEnd(b('zz'))).kvs.map((kv) => kv.key.toString())).toEqual([
      'a',
      'b',
    ]);
  });

  it('runs transactions as one revision, choosing the branch by compares', async () => {
    index = 0;
    const { sm } = await open();
    await apply(sm, { t: 'put', key: b('k'), value: b('v1') });
    const cas = (expectedMod: number, value: string): KvCommand => ({
      t: 'txn',
      compare: [{ key: b('k'), target: 'mod', result: '=', value: expectedMod }],
      success: [
        { t: 'put', key: b('k'), value: b(value) },
        { t: 'put', key: b('other'), value: b(value) },
      ],
      failure: [{ t: 'get', key: b('k') }],
    });
    const [ok] = await apply(sm, cas(1, 'v2'));
    expect(ok).toMatchObject({ t: 'txn', succeeded: true, revision: 2 });
    expect(sm.range(b('other')).kvs[0]!.modRevision).toBe(2);
    const [stale] = await apply(sm, cas(1, 'v3'));
    expect(stale).toMatchObject({ t: 'txn', succeeded: false, revision: 2 });
    expect(sm.range(b('k')).kvs[0]!.value.toString()).toBe('v2');
  });

  it('applies several commands of one entry in order, each with its own revision', async () => {
    index = 0;
    const { sm } = await open();
    const data = encodeKvCommands([
      { command: { t: 'put', key: b('m'), value: b('1') }, requestId: 'a' },
      { command: { t: 'put', key: b('m'), value: b('2') }, requestId: 'b' },
      { command: { t: 'get', key: b('m') }, requestId: 'c' },
    ]);
    const results = await sm.applyEntries([{ index: 1, term: 1, data }]);
    expect(results.get('a')).toMatchObject({ t: 'put', revision: 1 });
    expect(results.get('b')).toMatchObject({ t: 'put', revision: 2 });
    expect((results.get('c') as { kvs: { value: Buffer }[] }).kvs[0]!.value.toString()).toBe('2');
    expect(sm.range(b('m')).kvs[0]).toMatchObject({
      version: 2,
      createRevision: 1,
      modRevision: 2,
    });
  });

  it('revoking a lease deletes its keys', async () => {
    index = 0;
    const { sm } = await open();
    await apply(sm, { t: 'leaseGrant', id: 7, ttlMs: 1000 });
    await apply(
      sm,
      { t: 'put', key: b('eph'), value: b('x'), lease: 7 },
      { t: 'put', key: b('keep'), value: b('y') },
    );
    const [missing] = await apply(sm, { t: 'put', key: b('bad'), value: b('x'), lease: 99 });
    expect(missing).toMatchObject({ t: 'error' });
    expect(sm.listLeases()).toEqual([{ id: 7, ttlMs: 1000, keys: 1 }]);
    await apply(sm, { t: 'leaseRevoke', id: 7 });
    expect(sm.range(b('eph')).kvs).toHaveLength(0);
    expect(sm.range(b('keep')).kvs).toHaveLength(1);
    expect(sm.listLeases()).toEqual([]);
  });

  it('watches replay history from a revision, then stream live events, and report compaction', async () => {
    index = 0;
    const { sm } = await open();
    await apply(sm, { t: 'put', key: b('w/1'), value: b('a') });
    await apply(sm, { t: 'put', key: b('x'), value: b('no') });
    await apply(sm, { t: 'put', key: b('w/2'), value: b('b') });
    const seen: WatchEvent[] = [];
    const cancel = await sm.watch(b('w/'), prefixEnd(b('w/')), 1, (evs) => seen.push(...evs));
    await apply(sm, { t: 'del', key: b('w/1') });
    expect(seen.map((e) => `${e.type}:${e.kv.key}@${e.revision}`)).toEqual([
      'put:w/1@1',
      'put:w/2@3',
      'delete:w/1@4',
    ]);
    cancel();
    await apply(sm, { t: 'put', key: b('w/3'), value: b('c') });
    expect(seen).toHaveLength(3);
    await apply(sm, { t: 'compact', revision: 3 });
    await expect(sm.watch(b('w/'), prefixEnd(b('w/')), 2, () => undefined)).rejects.toBeInstanceOf(
      CompactedError,
    );
  });

  it('a watch from a revision not reached yet gets nothing older when this node catches up', async () => {
    index = 0;
    const { sm } = await open();
    await apply(sm, { t: 'put', key: b('w/1'), value: b('a') });
    // Resumed on a replica behind the node the watcher saw revision 2 on.
    const seen: WatchEvent[] = [];
    const cancel = await sm.watch(b('w/'), prefixEnd(b('w/')), 3, (evs) => seen.push(...evs));
    await apply(sm, { t: 'put', key: b('w/2'), value: b('b') });
    expect(seen).toEqual([]);
    await apply(sm, { t: 'del', key: b('w/1') }, { t: 'put', key: b('w/3'), value: b('c') });
    expect(seen.map((e) => `${e.type}:${e.kv.key}@${e.revision}`)).toEqual([
      'delete:w/1@3',
      'put:w/3@4',
    ]);
    cancel();
  });

  it('survives a restart at exactly the applied index; re-applying is a no-op', async () => {
    index = 0;
    const first = await open();
    await apply(
      first.sm,
      { t: 'put', key: b('a'), value: b('1') },
      { t: 'put', key: b('b'), value: b('2') },
    );
    const entries = [
      {
        index: 2,
        term: 1,
        data: encodeKvCommand({ t: 'put', key: b('b'), value: b('again') }, 'dup'),
      },
    ];
    await first.db.close();
    dbs.pop();
    const again = await open(first.dir);
    expect(again.sm.appliedIndex).toBe(2);
    expect(again.sm.revision).toBe(2);
    await again.sm.applyEntries(entries);
    expect(again.sm.range(b('b')).kvs[0]!.value.toString()).toBe('2');
  });

  it('snapshot and restore reproduce the same state', async () => {
    index = 0;
    const a = await open();
    await apply(
      a.sm,
      { t: 'leaseGrant', id: 3, ttlMs: 500 },
      { t: 'put', key: b('x'), value: b('1'), lease: 3 },
      { t: 'put', key: b('y'), value: b('2') },
    );
    const c = await open();
    await c.sm.restore(a.sm.snapshotView().serializeNow(), a.sm.appliedIndex, 1);
    expect(c.sm.range(b(''), prefixEnd(b('z')))).toEqual(a.sm.range(b(''), prefixEnd(b('z'))));
    expect(c.sm.listLeases()).toEqual(a.sm.listLeases());
    expect(c.sm.appliedIndex).toBe(a.sm.appliedIndex);
  });

  it('serves reads during a restore from the state before it, then the whole new one: never half', async () => {
    index = 0;
    const a = await open();
    const many = Array.from({ length: 30_000 }, (_, i) => ({
      t: 'put' as const,
      key: b(`n/${String(i).padStart(5, '0')}`),
      value: Buffer.alloc(64, i),
    }));
    for (let i = 0; i < many.length; i += 1000)
      await apply(a.sm, { t: 'txn', compare: [], success: many.slice(i, i + 1000), failure: [] });
    const c = await open();
    await apply(c.sm, { t: 'put', key: b('old'), value: b('1') });
    const all = () => c.sm.range(b(''), prefixEnd(b('z'))).count;
    let restored = false;
    const restoring = c.sm
      .restore(a.sm.snapshotView().serializeNow(), a.sm.appliedIndex, 1)
      .then(() => {
        restored = true;
      });
    const seen = new Set<number>();
    while (!restored) {
      seen.add(all());
      await new Promise((resolve) => setImmediate(resolve));
    }
    await restoring;
    seen.add(all());
    expect([...seen].sort((x, y) => x - y)).toEqual([1, 30_000]);
    expect(c.sm.range(b('n/29999')).kvs[0]!.value).toEqual(Buffer.alloc(64, 29_999));
    expect(c.sm.range(b('old')).count).toBe(0);
    // And from its rows after a restart, the same.
    await c.db.close();
    dbs.splice(dbs.indexOf(c.db), 1);
    const again = await open(c.dir);
    expect(again.sm.range(b(''), prefixEnd(b('z'))).count).toBe(30_000);
    expect(again.sm.appliedIndex).toBe(a.sm.appliedIndex);
  });

  it("keeps a lease's owner through a restart, a snapshot and a restore", async () => {
    index = 0;
    const a = await open();
    await apply(
      a.sm,
      { t: 'leaseGrant', id: 3, ttlMs: 500, owner: 'User:alice' },
      { t: 'leaseGrant', id: 4, ttlMs: 500 },
    );
    const owners = (sm: KvStateMachine) => [3, 4, 5].map((id) => sm.leaseOwner(id));
    expect(owners(a.sm)).toEqual(['User:alice', '', undefined]);
    const c = await open();
    await c.sm.restore(a.sm.snapshotView().serializeNow(), a.sm.appliedIndex, 1);
    expect(owners(c.sm)).toEqual(['User:alice', '', undefined]);
    await a.db.close();
    dbs.splice(dbs.indexOf(a.db), 1);
    expect(owners((await open(a.dir)).sm)).toEqual(['User:alice', '', undefined]);
  });

  it('opens what the JSON format (version 0) wrote: log entries and a snapshot', async () => {
    // Both written by Strand before the binary format (its encoder and snapshot, verbatim).
    const legacyEntry =
      '{"b":[{"r":"1-legacy-1","c":{"t":"put","key":"YQ==","value":"MQ==","prevKv":true}},{"r":"1-legacy-2","c":{"t":"leaseGrant","id":7,"ttlMs":60000}},{"r":"1-legacy-3","c":{"t":"put","key":"Yg==","value":"AMO/Mg==","lease":7}},{"r":"1-legacy-4","c":{"t":"txn","compare":[{"key":"YQ==","target":"version","result":"=","value":1}],"success":[{"t":"put","key":"Yw==","value":"Mw=="},{"t":"del","key":"YQ=="}],"failure":[{"t":"get","key":"YQ=="}]}}]}';
    const legacySnapshot =
      '{"revision":4,"compactRevision":0,"keys":[{"key":"eA==","value":"MQ==","createRevision":2,"modRevision":4,"version":2,"lease":3}],"leases":[{"id":3,"ttlMs":5000}]}';
    const { sm } = await open();
    const results = await sm.applyEntries([
      { index: 1, term: 1, data: Buffer.from(legacyEntry) },
      // The binary format follows in the same log, as after an upgrade.
      { index: 2, term: 2, data: encodeKvCommand({ t: 'put', key: b('d'), value: b('4') }, 'new') },
    ]);
    expect(results.get('1-legacy-4')).toMatchObject({ t: 'txn', succeeded: true });
    const live = sm.range(b(''), prefixEnd(b('z'))).kvs;
    expect(live.map((kv) => [kv.key.toString(), kv.value.toString('hex')])).toEqual([
      ['b', '00c3bf32'],
      ['c', '33'],
      ['d', '34'],
    ]);
    expect(live[0]?.lease).toBe(7);
    expect(sm.listLeases()).toEqual([{ id: 7, ttlMs: 60000, keys: 1 }]);

    const restored = await open();
    await restored.sm.restore(Buffer.from(legacySnapshot), 10, 2);
    expect(restored.sm.range(b('x')).kvs).toMatchObject([{ value: b('1'), version: 2, lease: 3 }]);
    expect(restored.sm.listLeases()).toEqual([{ id: 3, ttlMs: 5000, keys: 1 }]);
    expect(restored.sm.revision).toBe(4);
  });

  it('unversioned rows: written and deleted without a revision, a history row or a watch event; kept through a restart, a snapshot and a restore', async () => {
    index = 0;
    const a = await open();
    const events: WatchEvent[] = [];
    await a.sm.watch(b(''), b('\xff'), 0, (evs) => events.push(...evs));
    await apply(a.sm, { t: 'put', key: b('o/g1/t/0'), value: b('versioned') });
    const revision = a.sm.revision;
    const results = await apply(a.sm, {
      t: 'rows',
      ops: [
        { t: 'put', key: b('o/g1/t/0'), value: b('a') },
        { t: 'put', key: b('o/g1/t/1'), value: b('b') },
        { t: 'put', key: b('o/g2/t/0'), value: b('c') },
        { t: 'put', key: b('o/g1/t/1'), value: b('b2') },
      ],
    });
    expect(results).toEqual([{ t: 'rows', revision }]);
    expect(a.sm.revision).toBe(revision);
    expect(events).toHaveLength(1); // the versioned put only
    expect(a.sm.range(b('o/g1/t/0')).kvs[0]!.value.toString()).toBe('versioned');
    const text = (rows: { key: Buffer; value: Buffer }[]) =>
      rows.map((r) => `${r.key.toString()}=${r.value.toString()}`);
    expect(text(a.sm.rowRange(b('o/g1/'), prefixEnd(b('o/g1/'))))).toEqual([
      'o/g1/t/0=a',
      'o/g1/t/1=b2',
    ]);
    expect(text(a.sm.rowRange(b('o/g2/t/0')))).toEqual(['o/g2/t/0=c']);
    await apply(a.sm, {
      t: 'rows',
      ops: [
        { t: 'del', key: b('o/g1/'), end: prefixEnd(b('o/g1/')) },
        { t: 'del', key: b('o/none') },
        { t: 'put', key: b('o/g3/t/0'), value: Buffer.alloc(0) },
      ],
    });
    expect(text(a.sm.rowRange(b('o/'), prefixEnd(b('o/'))))).toEqual(['o/g2/t/0=c', 'o/g3/t/0=']);
    expect(a.sm.stats().rows).toBe(2);
    const history = await a.db.entries({ gte: b('v'), lt: prefixEnd(b('v')) });
    expect(history).toHaveLength(1);
    const snap = a.sm.snapshotView().serializeNow();
    await a.db.close();
    dbs.splice(dbs.indexOf(a.db), 1);
    const again = await open(a.dir);
    expect(text(again.sm.rowRange(b('o/'), prefixEnd(b('o/'))))).toEqual([
      'o/g2/t/0=c',
      'o/g3/t/0=',
    ]);
    const c = await open();
    await apply(c.sm, { t: 'rows', ops: [{ t: 'put', key: b('o/stale'), value: b('x') }] });
    await c.sm.restore(snap, 9, 1);
    expect(text(c.sm.rowRange(b(''), b('\xff')))).toEqual(['o/g2/t/0=c', 'o/g3/t/0=']);
    await c.db.close();
    dbs.splice(dbs.indexOf(c.db), 1);
    expect(text((await open(c.dir)).sm.rowRange(b(''), b('\xff')))).toEqual([
      'o/g2/t/0=c',
      'o/g3/t/0=',
    ]);
    // A snapshot from before format 2 (no field) holds no rows.
    const old = JSON.parse(Buffer.from(snap).toString()) as Record<string, unknown>;
    delete old.rows;
    const d = await open();
    await d.sm.restore(Buffer.from(JSON.stringify(old)), 9, 1);
    expect(d.sm.stats().rows).toBe(0);
  });

  it('applies a rows command found in a format-1 entry as a no-op, as a release that reads only 1 does', async () => {
    const { sm } = await open();
    const data = encodeKvCommand(
      { t: 'rows', ops: [{ t: 'put', key: b('k'), value: b('v') }] },
      'r',
    );
    data[0] = 1;
    const results = await sm.applyEntries([{ index: 1, term: 1, data }]);
    expect([...results.values()]).toMatchObject([
      { t: 'error', code: 'INVALID_REQUEST', message: /needs entry format 2, not 1/ },
    ]);
    expect(sm.stats().rows).toBe(0);
  });

  it('refuses an entry of an unknown format version, naming it', async () => {
    const { sm } = await open();
    await expect(
      sm.applyEntries([{ index: 1, term: 1, data: Buffer.from([0x09, 1, 2, 3]) }]),
    ).rejects.toThrow(/KV command format version 9 is unknown/);
    await expect(
      sm.applyEntries([{ index: 1, term: 1, data: Buffer.from([0x09]) }]),
    ).rejects.toBeInstanceOf(UnsupportedFormatError);
  });

  it('applies a damaged entry of a known version as a no-op with an error', async () => {
    const { sm } = await open();
    const data = encodeKvCommand({ t: 'put', key: b('k'), value: b('v') }, 'id1');
    const results = await sm.applyEntries([{ index: 1, term: 1, data: data.subarray(0, -1) }]);
    expect([...results.values()]).toMatchObject([{ t: 'error', code: 'INVALID_REQUEST' }]);
    expect(sm.range(b('k')).kvs).toEqual([]);
    expect(sm.appliedIndex).toBe(1);
  });

  it('activates an entry format for good: kept through a restart and a snapshot, never lowered', async () => {
    const a = await open();
    expect(a.sm.format).toBe(0);
    const activate = (version: number, i: number) =>
      a.sm.applyEntries([
        { index: i, term: 1, data: encodeKvCommand({ t: 'format', version }, `f${i}`, 0) },
      ]);
    expect([...(await activate(1, 1)).values()]).toEqual([
      { t: 'format', revision: 0, version: 1 },
    ]);
    expect([...(await activate(0, 2)).values()]).toMatchObject([{ version: 1 }]);
    expect(a.sm.format).toBe(1);
    expect(a.sm.revision).toBe(0); // no revision of its own: keys' revisions stay etcd's
    const snap = a.sm.snapshotView().serializeNow();
    await a.db.close();
    dbs.splice(dbs.indexOf(a.db), 1);
    expect((await open(a.dir)).sm.format).toBe(1);
    const c = await open();
    await c.sm.restore(snap, 2, 1);
    expect(c.sm.format).toBe(1);
    // A snapshot from before formats (no field): that cluster wrote 0.
    const old = JSON.parse(Buffer.from(snap).toString()) as Record<string, unknown>;
    delete old.format;
    await c.sm.restore(Buffer.from(JSON.stringify(old)), 3, 1);
    expect(c.sm.format).toBe(0);
  });

  it('on a node limited to a format: refuses to open past it, to apply its activation or its entries, or a snapshot past it', async () => {
    const a = await open();
    await a.sm.applyEntries([
      { index: 1, term: 1, data: encodeKvCommand({ t: 'format', version: 1 }, 'f', 0) },
    ]);
    const snap = a.sm.snapshotView().serializeNow();
    await a.db.close();
    dbs.splice(dbs.indexOf(a.db), 1);
    const reopen = await KvDb.open(a.dir);
    dbs.push(reopen);
    await expect(KvStateMachine.open(reopen, 0)).rejects.toThrow(
      /format version 1 is past what this node was started to read \(up to 0\)/,
    );

    const dir = mkdtempSync(join(tmpdir(), 'strand-kv-'));
    dirs.push(dir);
    const db = await KvDb.open(dir);
    dbs.push(db);
    const limited = await KvStateMachine.open(db, 0);
    await limited.applyEntries([
      {
        index: 1,
        term: 1,
        data: encodeKvCommand({ t: 'put', key: b('k'), value: b('v') }, 'p', 0),
      },
    ]);
    for (const data of [
      encodeKvCommand({ t: 'format', version: 1 }, 'f', 0),
      encodeKvCommand({ t: 'put', key: b('k'), value: b('w') }, 'p2', 1),
    ])
      await expect(limited.applyEntries([{ index: 2, term: 1, data }])).rejects.toBeInstanceOf(
        UnsupportedFormatError,
      );
    await expect(limited.restore(snap, 5, 1)).rejects.toBeInstanceOf(UnsupportedFormatError);
    // Nothing of the refused entries was applied.
    expect(limited.appliedIndex).toBe(1);
    expect(limited.range(b('k')).kvs[0]?.value).toEqual(b('v'));
  });

  it('a numeric compare with bytes (an entry from before the edge refused it) compares false, not throw', async () => {
    const { sm } = await open();
    // Written as an older leader would have, in JSON, past today's edge check.
    const entry = JSON.stringify({
      b: [
        {
          r: 'old',
          c: {
            t: 'txn',
            compare: [{ key: 'aw==', target: 'version', result: '=', value: 'MQ==' }],
            success: [{ t: 'put', key: 'aw==', value: 'MQ==' }],
            failure: [],
          },
        },
      ],
    });
    const results = await sm.applyEntries([{ index: 1, term: 1, data: Buffer.from(entry) }]);
    expect(results.get('old')).toMatchObject({ t: 'txn', succeeded: false });
  });
});
