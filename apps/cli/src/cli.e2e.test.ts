import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort, ProcessRegistry, tempDir } from '@strand/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'main.js');
const run = promisify(execFile);
const registry = new ProcessRegistry();
const dir = tempDir('strand-cli-');
let bootstrap = '';

async function strand(
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      [CLI, ...args, '--bootstrap', bootstrap],
      { timeout: 20_000 },
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  const port = await freePort();
  bootstrap = `127.0.0.1:${port}`;
  await registry.start(CLI, {
    name: 'strand dev',
    args: ['dev', '--data', join(dir.path, 'data'), '--port', String(port)],
    readyLine: /cluster is up/,
  });
});

afterAll(async () => {
  await registry.stopAll();
  dir.cleanup();
});

describe('strand CLI against `strand dev`', () => {
  it('puts, gets, ranges, deletes and reports members, in text and JSON', async () => {
    expect((await strand('kv', 'put', 'app/a', 'one')).stdout).toMatch(/^OK \(revision \d+\)/);
    await strand('kv', 'put', 'app/b', 'two');
    expect((await strand('kv', 'get', 'app/a')).stdout).toBe('one\n');
    const json = JSON.parse(
      (await strand('kv', 'get', 'app/a', '--json', '--consistency', 'stale')).stdout,
    );
    expect(json).toMatchObject({ key: 'app/a', value: 'one', version: 1 });
    const range = JSON.parse((await strand('kv', 'range', 'app/', '--json')).stdout) as {
      key: string;
    }[];
    expect(range.map((r) => r.key)).toEqual(['app/a', 'app/b']);
    expect((await strand('kv', 'range', 'app/')).stdout).toMatch(/KEY\s+VALUE/);
    const members = JSON.parse((await strand('kv', 'members', '--json')).stdout);
    expect(members.members).toHaveLength(1);
    expect(members.leaderId).toBe(1);
    expect((await strand('kv', 'del', 'app/', '--prefix')).stdout).toBe('deleted 2\n');
    const missing = await strand('kv', 'get', 'app/a');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/KEY_NOT_FOUND/);
  });

  it('watches from a revision and stops after --count events', async () => {
    const put = JSON.parse((await strand('kv', 'put', 'w/x', '1', '--json')).stdout) as {
      revision: number;
    };
    await strand('kv', 'put', 'w/y', '2');
    const watched = await strand(
      'kv',
      'watch',
      'w/',
      '--prefix',
      '--from-revision',
      String(put.revision),
      '--count',
      '2',
    );
    expect(watched.stdout.trim().split('\n')).toEqual(['PUT w/x 1', 'PUT w/y 2']);
  });

  it('rejects bad input with a one-line error and a non-zero exit', async () => {
    for (const args of [
      ['nope'],
      ['kv', 'put', 'only-key'],
      ['kv', 'get', 'k', '--consistency', 'maybe'],
      ['kv', 'frob'],
    ]) {
      const r = await strand(...args);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    const badBootstrap = await run(process.execPath, [
      CLI,
      'kv',
      'get',
      'k',
      '--bootstrap',
      'not-an-address',
    ]).catch((e: { code: number; stderr: string }) => e);
    expect((badBootstrap as { code: number }).code).toBe(2);
    expect((badBootstrap as { stderr: string }).stderr).toMatch(/bootstrap/);
  });

  it('strand dev stops cleanly on SIGTERM and leaves no process behind', async () => {
    const port = await freePort();
    const dev = await registry.start(CLI, {
      name: 'strand dev 2',
      args: ['dev', '--data', join(dir.path, 'data2'), '--port', String(port)],
      readyLine: /cluster is up/,
    });
    const code = await dev.terminate();
    expect(code).toBe(0);
    expect(dev.output()).toMatch(/stopped/);
    // The coordinator child is gone too: its port accepts no connection.
    const probe = await run(process.execPath, [
      CLI,
      'kv',
      'members',
      '--bootstrap',
      `127.0.0.1:${port}`,
      '--timeout-ms',
      '500',
    ]).catch((e: { code: number }) => e);
    expect((probe as { code: number }).code).not.toBe(0);
    expect(existsSync(join(dir.path, 'data2', 'coordinator'))).toBe(true);
  });
});
