// @strand/testkit — tools for tests that run real Strand processes.

// Linearizability checking (Wing & Gong with Lowe's memoisation, per-key partitioning)
export * from './linearizability/index.js';

// Real processes: spawn, wait for a line, kill -9 / pause / terminate, all by pid
export * from './process.js';

// Where a test cluster's coordinators listen (client and peer ports) and the flags for it
export { type CoordinatorLayout, coordinatorLayout, learnerArgs } from './coordinators.js';

// Fault-injecting TCP proxy and a mesh of them for (asymmetric) partitions
export * from './proxy.js';

// A multi-host test bed of Linux network namespaces (one address per host, a bridge), with
// partitions, loss, duplication, netem and slow links between them
export * from './netns/index.js';

// Client load for tests: acks=all producers recording what was acknowledged, KV clients
// recording a history for the linearizability checker (also run as a process: ./workload)
export { type Acked, produceUntil } from './workload/produce.js';
export { type KvOp, kvClientLoop, kvFinalReads } from './workload/kv.js';
export type { Job, LoadJob, LoadResult, RoundTripJob, RoundTripResult } from './workload/jobs.js';

// Prometheus scrapes and readiness probes of the admin port, and polling for a condition
export * from './metrics.js';

// A small filesystem of its own (tmpfs) to fill up, for disk-full tests
export * from './small-fs.js';

// A seeded random generator, so randomised tests replay from their seed
export { prng } from './prng.js';
