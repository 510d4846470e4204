import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrokerConfig, loadBrokerConfig } from '@strand/broker';
import { type CoordinatorConfig, loadConfig } from '@strand/coordinator';

export const APPS = ['strand-coordinator', 'strand-broker'] as const;
export type App = (typeof APPS)[number];

export type Parsed =
  | { app: 'strand-coordinator'; config: CoordinatorConfig }
  | { app: 'strand-broker'; config: BrokerConfig };

/**
 * An app's command line as its own config parser reads it: a renamed or misspelt flag, a bad
 * value or a missing setting throws the error the app would print at start.
 */
export function parseCommand(argv: readonly string[], env: Record<string, string> = {}): Parsed {
  const [command, ...args] = argv;
  if (command === 'strand-coordinator') return { app: command, config: loadConfig(args, env) };
  if (command === 'strand-broker') return { app: command, config: loadBrokerConfig(args, env) };
  throw new Error(`${command}: not a Strand app`);
}

/**
 * What a shell command line runs: it is run by `sh` with `env`, and each Strand app on its
 * PATH is a stand-in that reports the words it was given, so quoting, variables and
 * arithmetic are the shell's own.
 */
export function shellArgv(script: string, env: Record<string, string>): string[] {
  const bin = mkdtempSync(join(tmpdir(), 'strand-argv-'));
  try {
    for (const app of APPS) {
      writeFileSync(join(bin, app), `#!/bin/sh\nprintf '%s\\0' "${app}" "$@"\n`);
      chmodSync(join(bin, app), 0o755);
    }
    const out = execFileSync('sh', ['-c', script], {
      env: { ...env, PATH: `${bin}:/usr/bin:/bin` },
      encoding: 'utf8',
    });
    return out.split('\0').slice(0, -1);
  } finally {
    rmSync(bin, { recursive: true, force: true });
  }
}

/**
 * Kubernetes' expansion of a container's command and args: `$(NAME)` becomes the value of
 * an env var the container defines, `$$` a single `$`; any other reference stays as it is.
 */
export function expandKubernetes(text: string, env: Record<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (ref, name?: string) =>
    ref === '$$' ? '$' : name !== undefined && name in env ? env[name]! : ref,
  );
}
