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
    // A file that fails to load fails no test but must still count as a failure.
    failed += Math.max(report.numFailedTests ?? 0, report.numFailedTestSuites ?? 0);
    reports += 1;
  }
}
console.log(`${passed} passed, ${failed} failed`);
if (reports === 0 || failed > 0) process.exit(1);
