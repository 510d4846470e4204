import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { byKey, checkLinearizability } from './check.js';
import { type KvInput, type KvOutput, kvModel, type Operation } from './model.js';

type Op = Operation<KvInput, KvOutput>;
const put = (client: number, key: string, value: string, call: number, ret?: number): Op => ({
  client,
  input: { op: 'put', key, value },
  output: {},
  call,
  ...(ret === undefined ? {} : { ret }),
});
const get = (client: number, key: string, value: string | null, call: number, ret: number): Op => ({
  client,
  input: { op: 'get', key },
  output: { value },
  call,
  ret,
});
const cas = (
  client: number,
  key: string,
  expected: string | null,
  value: string,
  ok: boolean,
  call: number,
  ret?: number,
): Op => ({
  client,
  input: { op: 'cas', key, expected, value },
  output: { ok },
  call,
  ...(ret === undefined ? {} : { ret }),
});
const check = (ops: Op[]) => checkLinearizability(kvModel, ops, { partition: byKey });

describe('linearizability checker', () => {
  it('accepts a sequential history and concurrent ops in either order', () => {
    expect(check([put(1, 'x', 'a', 0, 1), get(2, 'x', 'a', 2, 3)]).ok).toBe(true);
    // Overlapping put and get: the get may see the old or the new value.
    expect(check([put(1, 'x', 'a', 0, 10), get(2, 'x', null, 1, 2)]).ok).toBe(true);
    expect(check([put(1, 'x', 'a', 0, 10), get(2, 'x', 'a', 1, 2)]).ok).toBe(true);
  });

  it('rejects a stale read after a completed write', () => {
    const r = check([put(1, 'x', 'a', 0, 1), put(1, 'x', 'b', 2, 3), get(2, 'x', 'a', 4, 5)]);
    expect(r.ok).toBe(false);
    if (r.ok === false) expect(r.explanation).toMatch(/get\(x\)/);
  });

  it('rejects a lost write and a read that goes back in time', () => {
    expect(check([put(1, 'x', 'a', 0, 1), get(2, 'x', null, 2, 3)]).ok).toBe(false);
    expect(
      check([put(1, 'x', 'a', 0, 10), get(2, 'x', 'a', 1, 2), get(3, 'x', null, 3, 4)]).ok,
    ).toBe(false);
  });

  it('checks compare-and-set outcomes', () => {
    expect(
      check([put(1, 'x', 'a', 0, 1), cas(2, 'x', 'a', 'b', true, 2, 3), get(3, 'x', 'b', 4, 5)]).ok,
    ).toBe(true);
    // Two CAS from the same expected value cannot both succeed.
    expect(
      check([
        put(1, 'x', 'a', 0, 1),
        cas(2, 'x', 'a', 'b', true, 2, 5),
        cas(3, 'x', 'a', 'c', true, 2, 5),
      ]).ok,
    ).toBe(false);
    // A failed CAS must have seen a different value.
    expect(check([put(1, 'x', 'a', 0, 1), cas(2, 'x', 'a', 'b', false, 2, 3)]).ok).toBe(false);
  });

  it('lets an operation that never returned take effect or not', () => {
    // The put timed out, yet a later read saw it: it took effect.
    expect(check([put(1, 'x', 'a', 0), get(2, 'x', 'a', 5, 6)]).ok).toBe(true);
    // Or it did not.
    expect(check([put(1, 'x', 'a', 0), get(2, 'x', null, 5, 6)]).ok).toBe(true);
    // But it cannot take effect before it was called.
    expect(check([get(2, 'x', 'a', 0, 1), put(1, 'x', 'a', 2)]).ok).toBe(false);
    // Nor un-happen once observed.
    expect(check([put(1, 'x', 'a', 0), get(2, 'x', 'a', 5, 6), get(3, 'x', null, 7, 8)]).ok).toBe(
      false,
    );
  });

  it('checks keys independently', () => {
    const r = check([put(1, 'x', 'a', 0, 1), put(1, 'y', 'b', 0, 1), get(2, 'y', null, 2, 3)]);
    expect(r).toMatchObject({ ok: false, partition: 'y' });
  });

  it('histories made by running a register sequentially are linearizable; corrupting a read is caught', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            kind: fc.constantFrom('put', 'get', 'cas'),
            value: fc.constantFrom('a', 'b', 'c'),
            expected: fc.constantFrom('a', 'b', null),
            client: fc.nat(4),
            slack: fc.nat(5),
          }),
          { minLength: 1, maxLength: 40 },
        ),
        (steps) => {
          let state: string | null = null;
          const ops: Op[] = [];
          steps.forEach((s, i) => {
            // Each op takes effect at time 10*i; its call and return stretch around that point.
            const call = 10 * i - s.slack;
            const ret = 10 * i + s.slack;
            if (s.kind === 'put') {
              state = s.value;
              ops.push(put(s.client, 'k', s.value, call, ret));
            } else if (s.kind === 'get') ops.push(get(s.client, 'k', state, call, ret));
            else {
              const ok = state === s.expected;
              if (ok) state = s.value;
              ops.push(cas(s.client, 'k', s.expected, s.value, ok, call, ret));
            }
          });
          expect(check(ops).ok).toBe(true);
          // Make one read return a value no write ever produced: never linearizable.
          const readAt = ops.findIndex((o) => o.input.op === 'get');
          if (readAt >= 0) {
            const bad = ops.slice();
            bad[readAt] = { ...bad[readAt]!, output: { value: 'never-written' } };
            expect(check(bad).ok).toBe(false);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('checks 5 clients x 200 overlapping ops on one key within its time budget', () => {
    const ops: Op[] = [];
    let state: string | null = null;
    for (let i = 0; i < 1000; i++) {
      const client = i % 5;
      const call = i * 2;
      const ret = call + 9; // overlaps with the next few operations
      if (i % 3 === 0) {
        state = `v${i}`;
        ops.push(put(client, 'k', state, call, ret));
      } else ops.push(get(client, 'k', state, call, ret));
    }
    // Memoisation keeps this tractable; without it the search would not finish in time.
    expect(checkLinearizability(kvModel, ops, { partition: byKey, timeoutMs: 30_000 }).ok).toBe(
      true,
    );
  });
});
