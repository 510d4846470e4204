// @strand/testkit — tools for tests that run real Strand processes.

// Linearizability checking (Wing & Gong with Lowe's memoisation, per-key partitioning)
export * from './linearizability/index.js';
