import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KeyIndex } from './key-index.js';

const name = fc.string({
  unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)),
  maxLength: 4,
});
const limit = fc.integer({ min: -1, max: 5 });
const op = fc.oneof(
  fc.record({ t: fc.constant('set' as const), name }),
  fc.record({ t: fc.constant('del' as const), name }),
  fc.record({ t: fc.constant('range' as const), start: name, end: name, limit }),
);

// Few names, many operations: names deleted and added again, across many merges.
const fewNames = fc.string({ unit: fc.constantFrom('a', 'b', 'c', 'd'), maxLength: 6 });
const busyOp = fc.oneof(
  { weight: 6, arbitrary: fc.record({ t: fc.constant('set' as const), name: fewNames }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('del' as const), name: fewNames }) },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('range' as const),
      start: fewNames,
      end: fewNames,
      limit,
    }),
  },
);

type Op =
  | { t: 'set'; name: string }
  | { t: 'del'; name: string }
  | { t: 'range'; start: string; end: string; limit: number };

function check(ops: Op[]): void {
  const live = new Set<string>();
  const index = new KeyIndex(live);
  for (const o of ops) {
    if (o.t === 'set') {
      if (!live.has(o.name)) index.add(o.name);
      live.add(o.name);
    } else if (o.t === 'del') {
      if (live.delete(o.name)) index.remove();
    } else {
      // Byte order: latin1 names compare by code unit, as Buffer.compare does.
      const want = [...live]
        .filter((n) => n >= o.start && n < o.end)
        .sort((a, b) => Buffer.compare(Buffer.from(a, 'latin1'), Buffer.from(b, 'latin1')));
      expect(index.range(o.start, o.end)).toEqual(want);
      // A page: the first `limit` of them (all for 0 or less), and how many there are in all.
      const names = o.limit > 0 ? want.slice(0, o.limit) : want;
      expect(index.page(o.start, o.end, o.limit)).toEqual({ names, count: want.length });
    }
  }
}

describe('KeyIndex', () => {
  it('stays right through thousands of adds, deletes and ranges over a few names', () => {
    fc.assert(fc.property(fc.array(busyOp, { minLength: 500, maxLength: 4000 }), check), {
      numRuns: 40,
    });
  });

  it('answers every range as a filter and sort of the live names would, whatever came before', () => {
    fc.assert(fc.property(fc.array(op, { maxLength: 200 }), check), { numRuns: 300 });
  });

  it('walks only the page it returns when nothing was deleted, counting the rest by search', () => {
    const live = new Set<string>();
    let lookups = 0;
    const counted = {
      has: (n: string) => {
        lookups += 1;
        return live.has(n);
      },
    };
    const index = new KeyIndex(counted);
    for (let i = 0; i < 10_000; i++) {
      const n = `k${String(i).padStart(5, '0')}`;
      live.add(n);
      index.add(n);
    }
    index.range('', '~'); // settles the additions
    lookups = 0;
    const page = index.page('k05000', '~', 10);
    expect(page.count).toBe(5_000);
    expect(page.names).toEqual(Array.from({ length: 10 }, (_, i) => `k0${5000 + i}`));
    expect(lookups).toBeLessThanOrEqual(10);
  });
});
