import { defineConfig, mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.js';

// Most tests here start `strand dev` or a cluster and run the CLI as separate processes, a
// dozen node start-ups in one test: on a loaded 2-core machine (CI, or helpers side by side)
// one test can take minutes. They wait on conditions, so the limit only has to be far off.
export default mergeConfig(
  shared,
  defineConfig({ test: { testTimeout: 300_000, hookTimeout: 180_000 } }),
);
