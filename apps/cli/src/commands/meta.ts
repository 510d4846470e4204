import { readFileSync } from 'node:fs';
import type { ServiceDefinition } from '@grpc/grpc-js';
import { brokerService, groupService, kvService, MAGIC_V2 } from '@strand/wire';
import { bashCompletion, zshCompletion } from '../cli/completion.js';
import { helpText } from '../cli/help.js';
import type { Command } from '../cli/spec.js';
import { command } from '../cli/spec.js';
import { UsageError } from '../cli/usage.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

/** Each gRPC package this build speaks, with its services (`strand.kv.v1: KV, Watch, ...`). */
function grpcApis(): Record<string, string[]> {
  const services: [string, ServiceDefinition][] = [
    ['Broker', brokerService('Broker').service],
    ['Controller', brokerService('Controller').service],
    ['GroupCoordinator', groupService('GroupCoordinator').service],
    ...(['KV', 'Watch', 'Lease', 'Cluster', 'Maintenance', 'Raft'] as const).map(
      (n) => [n, kvService(n).service] as [string, ServiceDefinition],
    ),
  ];
  const out: Record<string, string[]> = {};
  for (const [name, def] of services) {
    const path = Object.values(def)[0]!.path; // /strand.kv.v1.KV/Range
    const pkgName = path.split('/')[1]!.replace(/\.[^.]+$/, '');
    out[pkgName] = [...(out[pkgName] ?? []), name];
  }
  return out;
}

export function versionInfo() {
  return {
    version: pkg.version,
    node: process.version,
    grpc: grpcApis(),
    recordBatch: { format: 'Kafka RecordBatch v2', magic: MAGIC_V2 },
  };
}

export function versionText(): string {
  const v = versionInfo();
  return [
    `strand ${v.version}`,
    `  node            ${v.node}`,
    `  gRPC APIs       ${Object.entries(v.grpc)
      .map(([p, s]) => `${p} (${s.join(', ')})`)
      .join('\n                  ')}`,
    `  record batches  ${v.recordBatch.format} (magic ${v.recordBatch.magic}), on the wire and on disk`,
  ].join('\n');
}

export const version = command({
  name: 'version',
  summary: 'the version of strand and of the protocols and formats it speaks',
  examples: [{ command: 'strand version' }, { command: 'strand --version' }],
  run: (ctx) => {
    ctx.out.result(versionInfo(), versionText);
    return 0;
  },
});

/** Finds the command at `words` in the table, or says which word is unknown. */
function lookup(root: Command, words: string[]): { path: string[]; c: Command } {
  let c = root;
  const path: string[] = [];
  for (const w of words) {
    const sub = c.subcommands?.find((s) => s.name === w || s.aliases?.includes(w));
    if (!sub) throw new UsageError(`no command "${[...path, w].join(' ')}"`, path);
    c = sub;
    path.push(sub.name);
  }
  return { path, c };
}

export const help = command({
  name: 'help',
  summary: 'help for any command',
  args: [{ name: 'COMMAND', help: 'a command, e.g. topic create', optional: true, variadic: true }],
  examples: [{ command: 'strand help topic create' }, { command: 'strand help kv lease' }],
  run: (ctx) => {
    const { path, c } = lookup(ctx.root, ctx.args);
    ctx.out.plain(helpText(path, c, ctx.out.width));
    return 0;
  },
});

export const completion = command({
  name: 'completion',
  summary: 'a shell completion script (bash or zsh)',
  description:
    'Prints a script that completes commands, flags and flag values for strand. bash: `source <(strand completion bash)` (or save it under /etc/bash_completion.d/). zsh: `source <(strand completion zsh)` after compinit (or save it as _strand in your $fpath).',
  args: [{ name: 'SHELL', help: 'bash or zsh', choices: ['bash', 'zsh'] }],
  examples: [
    { command: 'source <(strand completion bash)' },
    { command: 'strand completion zsh > ~/.zfunc/_strand', note: 'with ~/.zfunc in $fpath' },
  ],
  run: (ctx) => {
    const shell = ctx.args[0];
    if (shell !== 'bash' && shell !== 'zsh')
      throw new UsageError(`completion is for bash or zsh, not "${shell}"`, ['completion']);
    ctx.out.plain(shell === 'bash' ? bashCompletion(ctx.root) : zshCompletion(ctx.root));
    return 0;
  },
});
