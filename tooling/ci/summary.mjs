// Sums vitest's JSON reports from every package into one line: "N passed, N failed".
// Exits non-zero when no report was found, so a run that executed nothing cannot pass.
// `.vitest-report.json` is the run at hand; .ci/run keeps each finished pass's as
// `.vitest-report.<pass>.json` (e.g. machine-node20, node24), and every one of them counts.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const roots = ['packages', 'apps', 'tooling'];
const REPORT = /^\.vitest-report(\.[\w-]+)?\.json$/;
/** How much of a failure's message the summary quotes. */
const MESSAGE_LINES = 20;
let reports = 0;
/** pass name → { passed, failed } */
const byPass = new Map();
/** What failed, named, so that a log cut to its last lines still says which test it was. */
const failures = [];
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
  failures.push(...failuresIn(report, pass));
  reports += 1;
  const sums = byPass.get(pass) ?? { passed: 0, failed: 0 };
  sums.passed += report.numPassedTests ?? 0;
  sums.failed += failedHere;
  byPass.set(pass, sums);
}

/**
 * "[pass] file > test: the message", per failed test or file that did not load. The message's
 * first lines come too: a process that did not start says why only in the output it quotes
 * ("last output: ..."), and CI keeps only the end of its log.
 */
function failuresIn(report, pass) {
  const out = [];
  for (const file of report.testResults ?? []) {
    const where = file.name ? relative(process.cwd(), file.name) : '?';
    const failedTests = (file.assertionResults ?? []).filter((t) => t.status === 'failed');
    for (const t of failedTests)
      out.push(`[${pass}] ${where} > ${t.fullName ?? t.title}: ${excerpt(t.failureMessages)}`);
    if (failedTests.length === 0 && file.status === 'failed')
      out.push(`[${pass}] ${where}: ${excerpt([file.message])}`);
  }
  return out;
}

/** The message up to its stack trace, at most MESSAGE_LINES lines of 300 characters. */
function excerpt(messages) {
  const text = (messages ?? []).find((m) => typeof m === 'string' && m.length > 0) ?? '';
  const lines = text.split('\n');
  const stack = lines.findIndex((l, i) => i > 0 && /^\s+at /.test(l));
  return lines
    .slice(0, Math.min(stack === -1 ? lines.length : stack, MESSAGE_LINES))
    .filter((l) => l.trim().length > 0)
    .map((l) => l.slice(0, 300))
    .join('\n      ');
}

let passed = 0;
let failed = 0;
for (const sums of byPass.values()) {
  passed += sums.passed;
  failed += sums.failed;
}
for (const f of failures) console.log(`  FAILED ${f}`);
if (byPass.size > 1)
  for (const [pass, sums] of byPass)
    console.log(`  ${pass}: ${sums.passed} passing, ${sums.failed} failing`);
console.log(`${passed} passed, ${failed} failed`);
if (reports === 0 || failed > 0) process.exit(1);
