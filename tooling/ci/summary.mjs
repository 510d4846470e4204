// Sums vitest's JSON reports from every package into one line: "N passed, N failed".
// Exits non-zero when no report was found, so a run that executed nothing cannot pass.
// `.vitest-report.json` is the run at hand; .ci/run keeps each finished pass's as
// `.vitest-report.<pass>.json` (e.g. machine-node20, node24), and every one of them counts.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const roots = ['packages', 'apps', 'tooling'];
const REPORT = /^\.vitest-report(\.[\w-]+)?\.json$/;
let reports = 0;
/** pass name → { passed, failed } */
const byPass = new Map();
for (const root of roots) {
  for (const name of readdirSync(root)) {
    const dir = join(root, name);
    if (!statSync(dir).isDirectory()) continue;
    for (const entry of readdirSync(dir)) {
      const pass = REPORT.exec(entry);
      if (pass) count(join(dir, entry), pass[1]?.slice(1) ?? 'this run');
    }
  }
}

function count(file, pass) {
  const report = JSON.parse(readFileSync(file, 'utf8'));
  // A file that fails to load, or a worker that crashes, fails no test by vitest's count but
  // must still count: tests that did not pass and were not skipped count as failed.
  const notPassed =
    (report.numTotalTests ?? 0) -
    (report.numPassedTests ?? 0) -
    (report.numPendingTests ?? 0) -
    (report.numTodoTests ?? 0);
  // (Not numFailedTestSuites: vitest counts every describe block around a failure as a
  // failed suite, which would count one failure several times.)
  const failedHere = Math.max(
    report.numFailedTests ?? 0,
    notPassed,
    report.success === false ? 1 : 0,
  );
  reports += 1;
  const sums = byPass.get(pass) ?? { passed: 0, failed: 0 };
  sums.passed += report.numPassedTests ?? 0;
  sums.failed += failedHere;
  byPass.set(pass, sums);
}

let passed = 0;
let failed = 0;
for (const sums of byPass.values()) {
  passed += sums.passed;
  failed += sums.failed;
}
if (byPass.size > 1)
  for (const [pass, sums] of byPass)
    console.log(`  ${pass}: ${sums.passed} passing, ${sums.failed} failing`);
console.log(`${passed} passed, ${failed} failed`);
if (reports === 0 || failed > 0) process.exit(1);
