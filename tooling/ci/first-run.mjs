// CI: the README's first command on this fresh clone — `pnpm dev` compiles what it needs and
// starts a cluster that answers — then Ctrl-C stops it cleanly. Prints how long the start took.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

const data = mkdtempSync(join(tmpdir(), 'strand-first-run-'));
const [port, brokerPort] = [await freePort(), await freePort()];
const started = Date.now();
const dev = spawn(
  'npx',
  [
    '-y',
    'pnpm@10.34.9',
    'dev',
    '--data',
    data,
    '--port',
    String(port),
    '--broker-port',
    String(brokerPort),
  ],
  { stdio: ['ignore', 'pipe', 'inherit'], detached: true },
);
let output = '';
const fail = (why) => {
  console.error(`first run: ${why}\n${output}`);
  try {
    process.kill(-dev.pid, 'SIGKILL');
  } catch {}
  rmSync(data, { recursive: true, force: true });
  process.exit(1);
};
// 'close': every process holding its output (strand dev itself, under npx and pnpm) has ended.
const exited = new Promise((resolve) => dev.on('close', (code, signal) => resolve(code ?? signal)));
let up = false;
await new Promise((resolve) => {
  const timer = setTimeout(() => fail('not up within 180 s'), 180_000);
  dev.stdout.on('data', (chunk) => {
    output += chunk;
    if (output.includes('cluster is up')) {
      clearTimeout(timer);
      up = true;
      resolve();
    }
  });
  exited.then((code) => up || fail(`pnpm dev exited (${code}) before the cluster was up`));
});
console.log(`first run: pnpm dev was up after ${((Date.now() - started) / 1000).toFixed(1)} s`);
try {
  const strand = (...args) =>
    execFileSync(process.execPath, ['apps/cli/dist/main.js', ...args], { encoding: 'utf8' });
  strand('topic', 'create', 'first-run', '--bootstrap', `127.0.0.1:${brokerPort}`);
  strand('kv', 'put', 'first-run', 'ok', '--bootstrap', `127.0.0.1:${port}`);
} catch (err) {
  fail(`the cluster did not answer: ${err.message}`);
}
// Ctrl-C reaches the whole foreground process group.
process.kill(-dev.pid, 'SIGINT');
// The timer is unref'd: once strand dev has stopped, nothing waits for it (it kept this
// script, and CI, waiting 30 s more).
const code = await Promise.race([
  exited,
  new Promise((r) => setTimeout(() => r('timeout'), 30_000).unref()),
]);
// npx may end by the signal itself; what counts is that strand dev stopped its cluster.
if (code === 'timeout' || !output.includes('Strand dev cluster stopped.'))
  fail(`Ctrl-C did not stop it cleanly (${code})`);
rmSync(data, { recursive: true, force: true });
console.log('first run: answered, and Ctrl-C stopped it cleanly');
