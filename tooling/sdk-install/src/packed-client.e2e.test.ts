import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort, ProcessRegistry, tempDir } from '@strand/testkit';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const execFileP = promisify(execFile);

/**
 * One step of the install, ended if it hangs (a stalled registry fetch must fail the test with
 * the step's name, not outlive it), and timed in the log: on a loaded CI machine the slow step
 * is the one to look at.
 */
async function exec(
  step: string,
  cmd: string,
  args: string[],
  {
    timeoutMs = 300_000,
    ...opts
  }: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<{ stdout: string; stderr: string }> {
  const started = Date.now();
  try {
    return await execFileP(cmd, args, {
      ...opts,
      encoding: 'utf8',
      maxBuffer: 16 * 1024 * 1024,
      timeout: 300_000,
      killSignal: 'SIGKILL',
    });
  } catch (err) {
    const e = err as Error & { stdout?: string; stderr?: string };
    throw new Error(
      `${cmd} ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`.slice(
        0,
        4000,
      ),
    );
  } finally {
    console.log(`${step}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
}
const registry = new ProcessRegistry();
const dir = tempDir('strand-sdk-');
afterAll(async () => {
  await registry.stopAll();
  dir.cleanup();
});

/**
 * The packages the SDK brings, each justified in its package's README. A new one must be
 * justified there too before it is added here.
 */
const DIRECT = {
  '@strand/auth': ['@strand/wire', 'zod'],
  '@strand/client': ['@grpc/grpc-js', '@strand/auth', '@strand/wire', 'zod'],
  '@strand/wire': [
    '@grpc/grpc-js',
    '@grpc/proto-loader',
    '@node-rs/crc32',
    '@toondepauw/node-zstd',
    'lz4-napi',
    'snappy',
    'zod',
  ],
};

/** npm as a user runs it: none of the workspace's pnpm settings, and no compiler to be found. */
function userEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(npm_|pnpm_)/i.test(k)),
  );
  return { ...env, CC: '/bin/false', CXX: '/bin/false' };
}

/** The first TypeScript block of a README, from `after` on. */
function example(readme: string, after = ''): string {
  const text = readFileSync(join(root, readme), 'utf8');
  const code = /```ts\n([\s\S]*?)```/.exec(text.slice(text.indexOf(after)))?.[1];
  if (!code?.includes("'127.0.0.1:9092'")) throw new Error(`${readme} has no example`);
  return code;
}

/** The pnpm running this suite (`pnpm test` sets npm_execpath), else the workspace's pinned one. */
const PNPM = /pnpm\.c?js$/.test(process.env.npm_execpath ?? '')
  ? [process.execPath, process.env.npm_execpath!]
  : ['npx', '-y', 'pnpm@10.34.9'];

async function pack(pkg: string, into: string): Promise<string> {
  await exec(`pnpm pack ${pkg}`, PNPM[0]!, [...PNPM.slice(1), 'pack', '--pack-destination', into], {
    cwd: join(root, 'packages', pkg),
  });
  const file = readdirSync(into).find((f) => f.startsWith(`strand-${pkg}-`));
  if (!file) throw new Error(`pnpm pack left no tarball for ${pkg}`);
  return join(into, file);
}

describe('@strand/client as users install it', () => {
  it(`installs from its packed tarball with no compiler on Node ${process.version}, type-checks the README example and runs it against a real cluster`, async () => {
    const tarballs = join(dir.path, 'tarballs');
    mkdirSync(tarballs);
    const wire = await pack('wire', tarballs);
    const auth = await pack('auth', tarballs);
    const client = await pack('client', tarballs);
    const packed = JSON.parse(
      (await exec('tar', 'tar', ['-xOzf', client, 'package/package.json'])).stdout,
    ) as { dependencies: Record<string, string> };
    expect(packed.dependencies['@strand/wire']).toMatch(/^\d+\.\d+\.\d+/);

    const app = join(dir.path, 'app');
    mkdirSync(app);
    // The tarballs stand in for the registry: `overrides` makes the client's dependency on
    // @strand/wire and @strand/auth (exact versions once packed) their tarballs too. Without it npm asks the
    // registry for a @strand/wire that is not published yet, and retries for minutes.
    writeFileSync(
      join(app, 'package.json'),
      JSON.stringify({
        name: 'app',
        private: true,
        type: 'module',
        dependencies: {
          '@strand/client': `file:${client}`,
          '@strand/auth': `file:${auth}`,
          '@strand/wire': `file:${wire}`,
        },
        overrides: { '@strand/wire': '$@strand/wire', '@strand/auth': '$@strand/auth' },
        devDependencies: { typescript: '~5.9.3', '@types/node': '^20.19.0' },
      }),
    );
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          types: ['node'],
        },
        include: ['*.ts'],
      }),
    );
    const npm = { cwd: app, env: userEnv() };
    // --prefer-offline: what npm's cache has already is not asked for again.
    const installed = await exec(
      'npm install',
      'npm',
      ['install', '--no-audit', '--no-fund', '--prefer-offline', '--foreground-scripts'],
      npm,
    );
    expect(`${installed.stdout}${installed.stderr}`).not.toMatch(/gyp|prebuild-install|g\+\+/);

    const tree = JSON.parse(
      (await exec('npm ls', 'npm', ['ls', '--all', '--omit=dev', '--json'], npm)).stdout,
    ) as Tree;
    for (const [name, deps] of Object.entries(DIRECT))
      expect(Object.keys(tree.dependencies?.[name]?.dependencies ?? {}).sort()).toEqual(deps);
    // Everything the SDK brings, transitively; a native package brings one prebuilt binary,
    // for this platform (the others are optional and not installed).
    expect(installedPackages(tree).size).toBeLessThan(50);

    const cluster = tempDir('strand-sdk-cluster-');
    try {
      const broker = `127.0.0.1:${await freePort()}`;
      await registry.start(join(root, 'apps', 'cli', 'dist', 'main.js'), {
        name: 'strand dev',
        args: [
          'dev',
          '--data',
          cluster.path,
          '--port',
          String(await freePort()),
          '--broker-port',
          broker.split(':')[1]!,
        ],
        readyLine: /dev cluster is up/,
        readyTimeoutMs: 60_000,
      });

      // The repository README's example is run; the package README's is type-checked.
      const fromCode = example('README.md', '### From code');
      writeFileSync(join(app, 'example.ts'), fromCode.replace("'127.0.0.1:9092'", `'${broker}'`));
      writeFileSync(join(app, 'package-readme.ts'), example('packages/client/README.md'));
      await exec(
        'tsc',
        process.execPath,
        [join(app, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', app],
        npm,
      );
      // The example reads on forever: it has worked once it printed the record it sent.
      const running = registry.spawnNode(join(app, 'example.js'), { cwd: app, name: 'example' });
      await running.waitFor(/^\d \d+ \{"total":10\}$/, 60_000);
      expect(running.lines.filter((l) => /error/i.test(l))).toEqual([]);
    } finally {
      await registry.stopAll();
      cluster.cleanup();
    }
  }, 600_000);
});

interface Tree {
  version?: string;
  dependencies?: Record<string, Tree>;
}

function installedPackages(tree: Tree, into = new Set<string>()): Set<string> {
  for (const [name, sub] of Object.entries(tree.dependencies ?? {})) {
    if (sub.version === undefined) continue;
    into.add(name);
    installedPackages(sub, into);
  }
  return into;
}
