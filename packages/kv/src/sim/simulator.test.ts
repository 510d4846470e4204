import { byKey, checkLinearizability, kvModel } from '@strand/testkit';
import { describe, expect, it } from 'vitest';
import { simulate } from './simulator.js';

const SEEDS = Number(process.env.STRAND_SEEDS ?? 1000);
const FIRST = Number(process.env.STRAND_SEED_BASE ?? 1);
const DURATION = Number(process.env.STRAND_SIM_MS ?? 1200);
const ONLY = process.env.STRAND_SEED === undefined ? undefined : Number(process.env.STRAND_SEED);

function runSeed(
  seed: number,
  nodes: number,
  extra: { membershipEveryMs?: number } = {},
): { ops: number; committed: number; confApplied: number } {
  const result = simulate({ seed, nodes, durationMs: DURATION, ...extra });
  const check = checkLinearizability(kvModel, result.history, {
    partition: byKey,
    timeoutMs: 20_000,
  });
  if (check.ok !== true) {
    throw new Error(
      `seed ${seed}: history not linearizable (${JSON.stringify(result.faults)}): ${check.ok === false ? check.explanation : 'checker timed out'}\nreplay: STRAND_SEED=${seed} npx vitest run src/sim`,
    );
  }
  return {
    ops: result.history.length,
    committed: result.stats.committed,
    confApplied: result.stats.confApplied,
  };
}

describe('deterministic simulation', () => {
  it('the same seed gives the same run', () => {
    const a = simulate({ seed: 42, durationMs: 600 });
    const b = simulate({ seed: 42, durationMs: 600 });
    expect(JSON.stringify(a.history)).toBe(JSON.stringify(b.history));
    expect(a.stats).toEqual(b.stats);
  });

  // Seeds run in chunks so each test reports on its own and stays within its time budget.
  const seeds = ONLY === undefined ? Array.from({ length: SEEDS }, (_, i) => FIRST + i) : [ONLY];
  const CHUNK = 250;
  for (let start = 0; start < seeds.length; start += CHUNK) {
    const chunk = seeds.slice(start, start + CHUNK);
    it(`seeds ${chunk[0]}..${chunk[chunk.length - 1]}: safety invariants hold and every history is linearizable`, () => {
      let ops = 0;
      let committed = 0;
      for (const seed of chunk) {
        const r = runSeed(seed, seed % 4 === 0 ? 5 : 3);
        ops += r.ops;
        committed += r.committed;
      }
      // The runs must do real work, not just survive: clients got operations through.
      expect(ops).toBeGreaterThan(chunk.length * 5);
      expect(committed).toBeGreaterThan(chunk.length * 5);
    }, 300_000);
  }

  // Learners added, promoted and members removed while the network and the nodes fail.
  const MEMBERSHIP_SEEDS = Number(process.env.STRAND_MEMBERSHIP_SEEDS ?? 200);
  const membershipSeeds =
    ONLY === undefined ? Array.from({ length: MEMBERSHIP_SEEDS }, (_, i) => FIRST + i) : [ONLY];
  it(`membership changes, seeds ${membershipSeeds[0]}..${membershipSeeds.at(-1)}: safety holds, only voters count, histories stay linearizable`, () => {
    let applied = 0;
    let ops = 0;
    for (const seed of membershipSeeds) {
      const r = runSeed(seed, seed % 4 === 0 ? 5 : 3, { membershipEveryMs: 60 + (seed % 5) * 40 });
      applied += r.confApplied;
      ops += r.ops;
    }
    // The changes really happened (not all refused) and clients got work done meanwhile.
    expect(applied).toBeGreaterThan(membershipSeeds.length);
    expect(ops).toBeGreaterThan(membershipSeeds.length * 5);
  }, 300_000);
});
