#!/usr/bin/env node
import { ErrorCode, StrandError } from '@strand/wire';
import { parseCli } from './args.js';
import { runCluster } from './cluster-command.js';
import { CONSUME_USAGE, runConsume } from './consume-command.js';
import { runDev } from './dev.js';
import { GROUP_USAGE, runGroup } from './group-commands.js';
import { KV_USAGE, runKv } from './kv-commands.js';
import { PRODUCE_USAGE, runProduce } from './produce-command.js';
import { runTopic, TOPIC_USAGE } from './topic-commands.js';

const indent = (s: string) =>
  s
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');

const USAGE = `strand — Strand's command line

  strand dev [--data DIR] [--port P] [--broker-port B]
      run a single-node cluster (coordinator on P, default 2379; broker on B, default 9092)
${indent(TOPIC_USAGE)}
${indent(PRODUCE_USAGE)}
      one record per line of stdin (or F); with SEP, the text before the first SEP is the key
${indent(CONSUME_USAGE)}
      starts at the end and follows by default; with a start point, stops at the end offsets
      seen at the start unless --follow or --count N; with --group G, joins consumer group G
      (its committed offsets, else the end or --from-beginning) and commits what it printed
${indent(GROUP_USAGE)}
  strand cluster
${indent(KV_USAGE)}

Every command takes --bootstrap host:port[,host:port...] and --json for machine-readable
output. The default bootstrap is $STRAND_BOOTSTRAP, then 127.0.0.1:9092 (brokers); for
strand kv it is $STRAND_KV_BOOTSTRAP, then 127.0.0.1:2379 (coordinators).
Exit status: 0 on success, 2 for bad input, 1 for any other error (one line on stderr).`;

/** Errors caused by what the user typed (exit status 2); everything else is 1. */
const BAD_INPUT = new Set<string>([
  ErrorCode.InvalidRequest,
  ErrorCode.InvalidConfig,
  ErrorCode.ReservedKey,
]);

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
    case 'topic':
      await runTopic(p, out);
      return 0;
    case 'produce':
      await runProduce(p, out);
      return 0;
    case 'consume':
      await runConsume(p);
      return 0;
    case 'group':
      await runGroup(p, out);
      return 0;
    case 'cluster':
      await runCluster(p, out);
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
    process.exit(err instanceof StrandError && BAD_INPUT.has(err.code) ? 2 : 1);
  },
);
