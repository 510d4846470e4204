import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort, type NodeProcess, type ProcessRegistry } from '@strand/testkit';

/** The built `strand` command (tests run what users run). */
export const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'main.js');

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

const run = promisify(execFile);

/** Runs a program to its end; a non-zero exit is a result, not an exception. */
export async function exec(
  file: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<Result> {
  try {
    const { stdout, stderr } = await run(file, args, {
      timeout: 60_000,
      maxBuffer: 64 * 1024 * 1024,
      ...opts,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

export interface DevCluster {
  proc: NodeProcess;
  brokers: string;
  coordinator: string;
  /** The environment that points strand at it. */
  env: NodeJS.ProcessEnv;
}

/** `strand dev` on free ports with its data in `data`, once it is up. */
export async function startDev(
  registry: ProcessRegistry,
  data: string,
  opts: { cwd?: string; name?: string; args?: string[] } = {},
): Promise<DevCluster> {
  const [port, brokerPort] = [await freePort(), await freePort()];
  const proc = await registry.start(CLI, {
    name: opts.name ?? `strand dev ${data}`,
    args: [
      ...['dev', '--data', data, '--port', String(port), '--broker-port', String(brokerPort)],
      ...(opts.args ?? []),
    ],
    // The banner's last line: the lines before it may arrive in separate reads.
    readyLine: /Ctrl-C stops it/,
    readyTimeoutMs: 60_000,
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
  });
  const brokers = `127.0.0.1:${brokerPort}`;
  const coordinator = `127.0.0.1:${port}`;
  return {
    proc,
    brokers,
    coordinator,
    env: { ...process.env, STRAND_BOOTSTRAP: brokers, STRAND_KV_BOOTSTRAP: coordinator },
  };
}
