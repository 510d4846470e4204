import { byKey, checkLinearizability, kvModel } from '@strand/testkit';
import { describe, expect, it } from 'vitest';
import { simulate } from './simulator.js';

/**
 * Every seed that ever failed, with what it caught. They run on every test run, whatever
 * STRAND_SEEDS says. Add a seed here whenever the simulator finds a bug.
 */
const REGRESSIONS: { seed: number; nodes: number; caught: string }[] = [
  {
    seed: 16,
    nodes: 3,
    caught:
      'votes granted without the up-to-date log check: a leader missing a committed entry (Leader Completeness); found while checking that the simulator catches that bug',
  },
];

describe('simulator regression seeds', () => {
  for (const r of REGRESSIONS) {
    it(`seed ${r.seed}: ${r.caught.split(':')[0]}`, () => {
      const result = simulate({ seed: r.seed, nodes: r.nodes, durationMs: 1200 });
      expect(result.stats.committed).toBeGreaterThan(0);
      expect(checkLinearizability(kvModel, result.history, { partition: byKey }).ok).toBe(true);
    });
  }
});
