#!/usr/bin/env node
import { StrandError } from '@strand/wire';
import { parseCli } from './args.js';
import { runDev } from './dev.js';
import { KV_USAGE, runKv } from './kv-commands.js';

const USAGE = `strand — Strand's command line

  strand dev [--data DIR] [--port P]      run a single-node cluster in the foreground
${KV_USAGE.split('\n')
  .map((l) => `  ${l}`)
  .join('\n')}

Every command takes --bootstrap host:port[,host:port...] (default $STRAND_BOOTSTRAP, then
127.0.0.1:2379) and --json for machine-readable output.`;

async function main(argv: string[]): Promise<number> {
  const p = parseCli(argv, process.env);
  const out = (line: string) => process.stdout.write(`${line}\n`);
  if (p.flags.help || p.command.length === 0) {
    out(USAGE);
    return p.command.length === 0 && !p.flags.help ? 1 : 0;
  }
  switch (p.command[0]) {
    case 'kv':
      await runKv(p, out);
      return 0;
    case 'dev':
      return runDev(p, out);
    default:
      throw new StrandError(
        'INVALID_REQUEST',
        `unknown command "${p.command[0]}" (see strand --help)`,
      );
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const message =
      err instanceof StrandError ? `${err.code}: ${err.message}` : (err as Error).message;
    process.stderr.write(`strand: ${message.split('\n')[0]}\n`);
    process.exit(err instanceof StrandError && err.code === 'INVALID_REQUEST' ? 2 : 1);
  },
);
