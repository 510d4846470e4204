// Sums vitest's JSON reports from every package into one line: "N passed, N failed".
// Exits non-zero when no report was found, so a run that executed nothing cannot pass.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const roots = ['packages', 'apps', 'tooling'];
let passed = 0;
let failed = 0;
let reports = 0;
for (const root of roots) {
  for (const name of readdirSync(root)) {
    const file = join(root, name, '.vitest-report.json');
    try {
      statSync(file);
    } catch {
      continue;
    }
    const report = JSON.parse(readFileSync(file, 'utf8'));
    passed += report.numPassedTests ?? 0;
    // A file that fails to load, or a worker that crashes, fails no test by vitest's count but
    // must still count: tests that did not pass and were not skipped count as failed.
    const notPassed =
      (report.numTotalTests ?? 0) -
      (report.numPassedTests ?? 0) -
      (report.numPendingTests ?? 0) -
      (report.numTodoTests ?? 0);
    // (Not numFailedTestSuites: vitest counts every describe block around a failure as a
    // failed suite, which would count one failure several times.)
    failed += Math.max(report.numFailedTests ?? 0, notPassed, report.success === false ? 1 : 0);
    reports += 1;
  }
}
console.log(`${passed} passed, ${failed} failed`);
if (reports === 0 || failed > 0) process.exit(1);
