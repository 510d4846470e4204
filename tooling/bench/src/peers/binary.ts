import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { NodeProcess } from '@strand/testkit';

/**
 * Finds an executable: `$envVar` if set, else on PATH, else in the sbin folders (Debian puts
 * nats-server in /usr/sbin, which is not on every user's PATH).
 */
export function findBinary(name: string, envVar: string): string | undefined {
  const override = process.env[envVar];
  if (override) return override;
  const dirs = [
    ...(process.env.PATH ?? '').split(delimiter).filter((d) => d.length > 0),
    '/usr/local/sbin',
    '/usr/sbin',
    '/sbin',
  ];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Starts a native server as a child process (ended by pid through the returned handle's
 * `terminate`/`kill9`) and waits for its ready line.
 */
export async function startBinary(
  path: string,
  args: string[],
  readyLine: RegExp,
  name: string,
  timeoutMs = 15_000,
): Promise<NodeProcess> {
  const child = spawn(path, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const proc = new NodeProcess(name, child);
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', () => resolve());
    child.once('error', reject);
  });
  try {
    await proc.waitFor(readyLine, timeoutMs);
  } catch (err) {
    await proc.kill9();
    throw err;
  }
  return proc;
}
