import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { freePort, NodeProcess, tempDir } from '@strand/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerfile, inTree } from './dockerfile.js';
import { REPO } from './repo.js';

// No Docker engine runs here: this test makes the image's /app as its prune stage does (this
// built tree without its node_modules, then that stage's RUN commands: production dependencies
// only), and runs the image's start command (its ENTRYPOINT, then the app) from it with the
// image's environment, as an unprivileged user when the test runs as root (as CI does), and the
// image's HEALTHCHECK command beside it.
const image = dockerfile();
const NOBODY = 65534;

/** Whether others may read the tree: every folder from it up to / is open to them. */
function openToOthers(path: string): boolean {
  for (let p = path; ; p = dirname(p)) {
    if ((statSync(p).mode & 0o005) !== 0o005) return false;
    if (p === dirname(p)) return true;
  }
}
const asNobody = process.getuid?.() === 0 && openToOthers(tmpdir());
const user = asNobody ? { uid: NOBODY, gid: NOBODY } : {};

const scratch = tempDir('strand-image-');
chmodSync(scratch.path, 0o755);
const data = join(scratch.path, 'data');
mkdirSync(data);
if (asNobody) chownSync(data, NOBODY, NOBODY);

/**
 * The node the apps run on, as the image's /usr/local/bin/node: others may run it. The test's
 * own may sit where they may not (Node 24 from npx lives under root's home).
 */
function nodeForTheApps(): string {
  if (!asNobody) return process.execPath;
  const dir = join(scratch.path, 'node-bin');
  mkdirSync(dir);
  cpSync(process.execPath, join(dir, 'node'));
  chmodSync(join(dir, 'node'), 0o755);
  return join(dir, 'node');
}
const node = nodeForTheApps();

/**
 * The prune stage: `COPY --from=build /app /app` (this tree, built), then its RUN commands in
 * /app with `pnpm` on PATH (the stage installs it with npm; here it is the pinned one by npx).
 */
function pruneStage(): string {
  const app = join(scratch.path, 'app');
  const skip = /\/(node_modules|\.git|\.turbo|\.strand-data|test-artifacts)$|\.vitest-report/;
  cpSync(REPO, app, { recursive: true, filter: (src) => !skip.test(src) });
  const shims = join(scratch.path, 'shims');
  mkdirSync(shims);
  writeFileSync(join(shims, 'pnpm'), '#!/bin/sh\nexec npx -y pnpm@10.34.9 "$@"\n', { mode: 0o755 });
  for (const run of image.runs.prune ?? []) {
    if (/^npm install -g pnpm@/.test(run)) continue;
    execFileSync('sh', ['-c', run], {
      cwd: app,
      env: { ...process.env, PATH: `${shims}:${process.env.PATH}`, CI: 'true' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  }
  return app;
}
let tree = '';
// The image's /usr/local/bin links, into the pruned tree.
const bin = join(scratch.path, 'bin');
beforeAll(() => {
  tree = pruneStage();
  mkdirSync(bin);
  for (const [name, target] of Object.entries(image.links))
    symlinkSync(inTree(image, target, tree), join(bin, name));
}, 300_000); // a production install of the apps' dependencies
const procs: NodeProcess[] = [];
afterAll(async () => {
  await Promise.all(procs.map((p) => p.terminate(10_000)));
  scratch.cleanup();
});

/** The container's process tree: the ENTRYPOINT with `command` after it. */
function run(name: string, command: string[], env: Record<string, string>): NodeProcess {
  const [init, ...initArgs] = image.entrypoint;
  const child = spawn(init!, [...initArgs, ...command], {
    cwd: tree,
    env: {
      ...image.env,
      ...env,
      PATH: `${bin}:${dirname(node)}:/usr/bin:/bin`,
      HOME: data,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...user,
  });
  const proc = new NodeProcess(name, child);
  procs.push(proc);
  return proc;
}

/** The image's HEALTHCHECK command with the container's environment: its exit code. */
function healthcheck(env: Record<string, string>): number | null {
  const [cmd, ...args] = image.healthcheck;
  const path = args.map((a) => (a.startsWith(`${image.workdir}/`) ? inTree(image, a, tree) : a));
  return spawnSync(cmd === 'node' ? node : cmd!, path, {
    env: { ...image.env, ...env },
    timeout: 10_000,
    ...user,
  }).status;
}

async function healthy(env: Record<string, string>, deadlineMs = 60_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (healthcheck(env) !== 0) {
    if (Date.now() > until) throw new Error(`HEALTHCHECK did not pass within ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The user the node process under the init runs as. */
function uidOfChild(initPid: number): number {
  const children = readFileSync(`/proc/${initPid}/task/${initPid}/children`, 'utf8')
    .trim()
    .split(' ');
  const status = readFileSync(`/proc/${children[0]}/status`, 'utf8');
  return Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
}

describe('the image (Dockerfile) without a Docker engine', () => {
  it('is built on one Debian Node image, runs as a user of its own under an init, with exec-form commands', () => {
    expect(new Set(image.bases).size).toBe(1);
    expect(image.bases[0]).toMatch(/^node:\d+-bookworm-slim$/); // glibc: the RocksDB binary it loads
    expect(image.user).toBe('node');
    expect(image.entrypoint).toEqual(['/usr/bin/tini', '--']);
    expect(image.commands.sort()).toEqual([
      'strand',
      'strand-broker',
      'strand-console',
      'strand-coordinator',
    ]);
    for (const target of Object.values(image.links))
      expect(existsSync(inTree(image, target, tree))).toBe(true);
    expect(image.healthcheck).toEqual(['node', '/app/deploy/healthcheck.mjs']);
  });

  it('its /app holds the production dependencies alone', () => {
    const broker = join(tree, 'apps', 'broker', 'node_modules');
    expect(existsSync(join(broker, '@grpc', 'grpc-js'))).toBe(true);
    expect(existsSync(join(broker, 'kafkajs'))).toBe(false); // a devDependency
  });

  it("a coordinator and a broker start by the image's command, pass its HEALTHCHECK and stop cleanly on SIGTERM", async () => {
    expect(
      existsSync(image.entrypoint[0]!),
      `${image.entrypoint[0]} (Debian's tini) is installed`,
    ).toBe(true);
    const [kv, kvAdmin, broker, brokerAdmin] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      freePort(),
    ]);
    const kvEnv = { STRAND_ADMIN_LISTEN: `127.0.0.1:${kvAdmin}` };
    const brokerEnv = { STRAND_ADMIN_LISTEN: `127.0.0.1:${brokerAdmin}` };
    expect(healthcheck(kvEnv)).toBe(1); // nothing answers yet
    const coordinator = run(
      'coordinator',
      ['strand-coordinator', '--id=1', `--listen=127.0.0.1:${kv}`, `--data=${data}/coordinator`],
      kvEnv,
    );
    await healthy(kvEnv);
    const brokerProc = run(
      'broker',
      [
        'strand-broker',
        '--id=1',
        `--listen=127.0.0.1:${broker}`,
        `--coordinators=127.0.0.1:${kv}`,
        `--data=${data}/broker`,
        '--controlled-shutdown-timeout-ms=5000',
      ],
      brokerEnv,
    );
    await healthy(brokerEnv);
    expect(uidOfChild(coordinator.pid)).toBe(asNobody ? NOBODY : process.getuid?.());
    expect(uidOfChild(brokerProc.pid)).toBe(asNobody ? NOBODY : process.getuid?.());
    // SIGTERM to the init (what docker stop and the kubelet send to PID 1) reaches the app.
    for (const [proc, env] of [
      [brokerProc, brokerEnv],
      [coordinator, kvEnv],
    ] as const) {
      process.kill(proc.pid, 'SIGTERM');
      expect(await proc.exited).toBe(0);
      expect(proc.records.some((r) => r.msg === 'stopping' && r.signal === 'SIGTERM')).toBe(true);
      expect(healthcheck(env)).toBe(1);
    }
  }, 180_000);
});
