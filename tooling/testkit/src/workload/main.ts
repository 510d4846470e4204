#!/usr/bin/env node
/**
 * A client process for multi-host tests: started on a host of its own (a network namespace of
 * a Netbed), it talks to the cluster through the SDK and prints one `result {json}` line, or
 * writes its result to the file the job names. The job is the JSON of argv[2]; see Job.
 */
import { writeFileSync } from 'node:fs';
import { runJob } from './jobs.js';

const job = JSON.parse(process.argv[2] ?? '{}');
// SIGTERM ends a job that runs until stopped (it still finishes and reports).
let stopped = false;
process.on('SIGTERM', () => {
  stopped = true;
});
runJob(job, () => stopped).then(
  (result) => {
    if (job.out) writeFileSync(job.out, JSON.stringify(result));
    else console.log(`result ${JSON.stringify(result)}`);
    process.exit(0);
  },
  (err: Error) => {
    console.error(`workload failed: ${err.stack ?? err.message}`);
    process.exit(1);
  },
);
