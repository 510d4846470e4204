import { explain, type FailureContext, failureText } from './failure.js';
import { helpText } from './help.js';
import { Output } from './output.js';
import { type Parsed, parseArgv } from './parse.js';
import { readLine } from './stdin.js';

export type { Parsed };

import type { Command } from './spec.js';

export interface Io {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
  /** Printed for `strand --version`. */
  version: () => string;
}

const defaultIo = (version: () => string): Io => ({
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  version,
});

/** Whether errors should be JSON, known even when the command line does not parse. */
function wantsJson(argv: string[]): boolean {
  return argv.some(
    (a, i) =>
      a === '--json' ||
      /^(-o|--output)=?json$/.test(a) ||
      ((a === '-o' || a === '--output') && argv[i + 1] === 'json'),
  );
}

const width = (s: NodeJS.WriteStream) => Math.min(s.columns || 80, 100);

/** Parses a command line and checks its flags as a run would, contacting nothing. */
export function prepare(root: Command, argv: string[], env: NodeJS.ProcessEnv = {}): Parsed {
  const p = parseArgv(root, argv, env);
  if (p.kind === 'run') p.command.check?.({ args: p.args, flags: p.flags });
  return p;
}

/**
 * Runs one command line against the command table and returns the exit status: 0 on
 * success, 2 for bad input (and for a missing subcommand, after its help), 1 otherwise.
 */
export async function runCli(
  root: Command,
  argv: string[],
  io: Io | (() => string),
): Promise<number> {
  const { stdout, stderr, env, version } = typeof io === 'function' ? defaultIo(io) : io;
  const json = wantsJson(argv);
  let ctx: FailureContext = { bootstrap: [], path: [] };
  const stop = new AbortController();
  let firstSignal = 0;
  const onSignal = () => {
    // The first signal asks the command to end cleanly; another one does not wait. (One
    // within a second is the same Ctrl-C relayed by a wrapper such as pnpm.)
    if (firstSignal === 0) firstSignal = Date.now();
    else if (Date.now() - firstSignal > 1000) process.exit(130);
    stop.abort();
  };
  try {
    const p = prepare(root, argv, env);
    if (p.kind === 'version') {
      stdout.write(`${version()}\n`);
      return 0;
    }
    if (p.kind === 'help') {
      const leaf = p.chain.at(-1)!;
      (p.asked ? stdout : stderr).write(`${helpText(p.path, leaf, width(stdout))}\n`);
      return p.asked ? 0 : 2;
    }
    ctx = {
      bootstrap: p.bootstrap,
      path: p.path,
      ...(p.command.target ? { target: p.command.target } : {}),
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    // The connection's password, as if in $STRAND_PASSWORD (the rest of stdin stays unread).
    const runEnv =
      p.flags['password-stdin'] === true
        ? { ...env, STRAND_PASSWORD: await readLine(process.stdin) }
        : env;
    const code = await p.command.run!({
      root,
      path: p.path,
      args: p.args,
      flags: p.flags,
      bootstrap: p.bootstrap,
      timeoutMs: p.timeoutMs,
      out: new Output(p.format, stdout, stderr),
      signal: stop.signal,
      env: runEnv,
    });
    return code ?? 0;
  } catch (err) {
    const f = await explain(err, ctx);
    stderr.write(`${failureText(f, json)}\n`);
    return f.exit;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
