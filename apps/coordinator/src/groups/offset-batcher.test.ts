import { setImmediate as turn } from 'node:timers/promises';
import { describe, expect, it, vi } from 'vitest';
import { OffsetBatcher, type OffsetWrite } from './offset-batcher.js';

/** A write function whose calls are recorded and answered by the test. */
function controlledWrite() {
  const calls: { writes: OffsetWrite[]; done: () => void; fail: (e: Error) => void }[] = [];
  const write = (writes: OffsetWrite[]) =>
    new Promise<void>((done, fail) => calls.push({ writes, done, fail }));
  return { calls, write };
}

const w = (key: string, v = key): OffsetWrite => ({ key, value: Buffer.from(v) });
const keys = (writes: OffsetWrite[]) => writes.map((x) => x.key);
const HOUR = 3_600_000;

describe('OffsetBatcher', () => {
  it('writes a lone commit at once, not after the flush interval', async () => {
    const { calls, write } = controlledWrite();
    const b = new OffsetBatcher(write, HOUR);
    const done = b.put([w('a')]);
    await turn();
    expect(calls.map((c) => keys(c.writes))).toEqual([['a']]);
    calls[0]?.done();
    await done;
  });

  it('sends the commits of one turn together', async () => {
    const { calls, write } = controlledWrite();
    const b = new OffsetBatcher(write, HOUR);
    void b.put([w('a')]);
    void b.put([w('b'), w('c')]);
    await turn();
    expect(calls.map((c) => keys(c.writes))).toEqual([['a', 'b', 'c']]);
  });

  it('gathers commits that arrive while a write is in flight into the next write', async () => {
    const { calls, write } = controlledWrite();
    const b = new OffsetBatcher(write, HOUR);
    const first = b.put([w('a')]);
    await turn();
    const second = b.put([w('b')]);
    await turn();
    const third = b.put([w('c')]);
    await turn();
    expect(calls).toHaveLength(1);
    calls[0]?.done();
    await first;
    await turn();
    expect(calls.map((c) => keys(c.writes))).toEqual([['a'], ['b', 'c']]);
    calls[1]?.done();
    await Promise.all([second, third]);
  });

  it('waits for an in-flight write no longer than the flush interval', async () => {
    const { calls, write } = controlledWrite();
    const b = new OffsetBatcher(write, 20);
    void b.put([w('a')]);
    await turn();
    void b.put([w('b')]);
    await vi.waitFor(() => expect(calls.map((c) => keys(c.writes))).toEqual([['a'], ['b']]));
  });

  it('writes a key committed twice once, with the later value, and answers both', async () => {
    const { calls, write } = controlledWrite();
    const b = new OffsetBatcher(write, HOUR);
    const both = Promise.all([b.put([w('a', '1')]), b.put([w('a', '2'), w('b')])]);
    await turn();
    expect(calls).toHaveLength(1);
    expect(calls[0]?.writes.map((x) => [x.key, x.value?.toString()])).toEqual([
      ['a', '2'],
      ['b', 'b'],
    ]);
    calls[0]?.done();
    await both;
  });

  it('splits a big batch into chunks proposed together', async () => {
    const { calls, write } = controlledWrite();
    const b = new OffsetBatcher(write, HOUR);
    const all = b.put(Array.from({ length: 4500 }, (_, i) => w(`k${i}`)));
    await turn();
    expect(calls.map((c) => c.writes.length)).toEqual([2000, 2000, 500]);
    for (const c of calls) c.done();
    await all;
  });

  it('fails the commits of a write that failed, and goes on with the next', async () => {
    const { calls, write } = controlledWrite();
    const b = new OffsetBatcher(write, HOUR);
    const a = b.put([w('a')]);
    const c = b.put([w('c')]);
    await turn();
    calls[0]?.fail(new Error('not leading'));
    await expect(a).rejects.toThrow('not leading');
    await expect(c).rejects.toThrow('not leading');
    const after = b.put([w('d')]);
    await turn();
    expect(calls.map((x) => keys(x.writes))).toEqual([['a', 'c'], ['d']]);
    calls[1]?.done();
    await after;
  });

  it('fail() rejects what is pending and writes none of it', async () => {
    const { calls, write } = controlledWrite();
    const b = new OffsetBatcher(write, HOUR);
    const inFlight = b.put([w('a')]);
    await turn();
    const waiting = b.put([w('b')]);
    b.fail(new Error('stopped leading'));
    await expect(waiting).rejects.toThrow('stopped leading');
    calls[0]?.done();
    await inFlight;
    await turn();
    expect(calls.map((x) => keys(x.writes))).toEqual([['a']]);
  });

  it('flush() sends what is pending without waiting for a write in flight', async () => {
    const { calls, write } = controlledWrite();
    const b = new OffsetBatcher(write, HOUR);
    void b.put([w('a')]);
    await turn();
    void b.put([w('b')]);
    const flushed = b.flush();
    expect(calls.map((x) => keys(x.writes))).toEqual([['a'], ['b']]);
    calls[1]?.done();
    await flushed;
  });
});
