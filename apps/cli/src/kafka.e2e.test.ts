import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort, ProcessRegistry, tempDir } from '@strand/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * `strand dev` and kcat, unmodified, side by side on the same port: what kcat writes the CLI
 * reads (keys, headers, timestamps), what the CLI writes kcat reads, and topics made either way
 * are the same topics.
 */

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'main.js');
const KCAT = '/usr/bin/kcat';
const hasKcat = existsSync(KCAT);
if (!hasKcat && process.env.CI === 'true')
  throw new Error(`${KCAT} is missing: .ci/run installs it`);
const exec = promisify(execFile);
const registry = new ProcessRegistry();
const dir = tempDir('strand-cli-kafka-');
let bootstrap = '';

const strand = (args: string[]) =>
  exec(process.execPath, [CLI, ...args, '--bootstrap', bootstrap], { timeout: 60_000 }).then(
    (r) => r.stdout,
  );

function withInput(file: string, args: string[], input: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { timeout: 60_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
    );
    child.stdin?.end(input);
  });
}

beforeAll(async () => {
  if (!hasKcat) return;
  const [port, brokerPort] = [await freePort(), await freePort()];
  bootstrap = `127.0.0.1:${brokerPort}`;
  await registry.start(CLI, {
    name: 'strand dev',
    args: [
      'dev',
      '--data',
      join(dir.path, 'data'),
      '--port',
      String(port),
      '--broker-port',
      String(brokerPort),
    ],
    readyLine: /cluster is up/,
    readyTimeoutMs: 30_000,
  });
});

afterAll(async () => {
  await registry.stopAll();
  dir.cleanup();
});

describe.skipIf(!hasKcat)('strand and kcat on one port', () => {
  it('kcat writes, strand consume reads keys, headers and timestamps', async () => {
    await withInput(
      KCAT,
      ['-P', '-b', bootstrap, '-t', 'from-kcat', '-K:', '-H', 'via=kcat'],
      'a:1\nb:2\nc:3\n',
    );
    const out = (
      await strand(['consume', 'from-kcat', '--from-beginning', '--count', '3', '--format', 'json'])
    )
      .trim()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as {
            key: string;
            value: string;
            timestamp: number;
            headers: { key: string; value: string }[];
          },
      );
    expect(out.map((r) => [r.key, r.value, r.headers])).toEqual([
      ['a', '1', [{ key: 'via', value: 'kcat' }]],
      ['b', '2', [{ key: 'via', value: 'kcat' }]],
      ['c', '3', [{ key: 'via', value: 'kcat' }]],
    ]);
    const kc = (
      await exec(KCAT, ['-C', '-b', bootstrap, '-t', 'from-kcat', '-e', '-f', '%T\n'])
    ).stdout
      .trim()
      .split('\n');
    expect(out.map((r) => String(r.timestamp))).toEqual(kc);
  });

  it('strand produce writes, kcat reads; a topic created by strand is the one kcat lists', async () => {
    await strand(['topic', 'create', 'from-cli', '--partitions', '2']);
    const meta = JSON.parse(
      (await exec(KCAT, ['-L', '-J', '-b', bootstrap, '-t', 'from-cli'])).stdout,
    ) as {
      topics: { topic: string; partitions: unknown[] }[];
    };
    expect(meta.topics[0]!.partitions).toHaveLength(2);
    await withInput(
      process.execPath,
      [CLI, 'produce', 'from-cli', '--key-separator', '=', '--bootstrap', bootstrap],
      'x=10\ny=20\n',
    );
    const read = (
      await exec(KCAT, ['-C', '-b', bootstrap, '-t', 'from-cli', '-e', '-f', '%k=%s\n'])
    ).stdout
      .trim()
      .split('\n');
    expect(read.sort()).toEqual(['x=10', 'y=20']);
  });
});
