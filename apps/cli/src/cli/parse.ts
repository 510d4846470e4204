import { GLOBAL_FLAGS, TARGETS, targetFlags } from './globals.js';
import type { Format } from './output.js';
import type { Command, FlagSpec, FlagTable } from './spec.js';
import { commandName, nearest, UsageError, usageLine } from './usage.js';

export type Parsed =
  | { kind: 'help'; chain: Command[]; path: string[]; asked: boolean }
  | { kind: 'version' }
  | {
      kind: 'run';
      chain: Command[];
      path: string[];
      command: Command;
      args: string[];
      flags: Record<string, unknown>;
      format: Format;
      bootstrap: string[];
      timeoutMs: number;
    };

/** `-x`, `--x`, `--x=v`: a flag. `-5` and `-` are values. */
const isFlag = (tok: string) => tok.startsWith('-') && tok !== '-' && !/^-\d/.test(tok);

const findSub = (c: Command, word: string) =>
  c.subcommands?.find((s) => s.name === word || s.aliases?.includes(word));

/** Every flag a command accepts: its own, the target's and the global ones. */
export function flagsOf(c: Command): FlagTable {
  return { ...(c.flags ?? {}), ...(c.target ? targetFlags(c.target) : {}), ...GLOBAL_FLAGS };
}

/** The command words at the start of argv (skipping flags), as far as they name commands. */
function walk(root: Command, argv: string[]): { chain: Command[]; path: string[] } {
  const chain = [root];
  const path: string[] = [];
  for (const tok of argv) {
    if (tok === '--') break;
    if (isFlag(tok)) continue;
    const sub = findSub(chain.at(-1)!, tok);
    if (!sub) break;
    chain.push(sub);
    path.push(sub.name);
  }
  return { chain, path };
}

const visible = (c: Command) => (c.subcommands ?? []).filter((s) => !s.hidden);

/**
 * Parses argv (without node and the script) against the command table: the command words,
 * then flags and arguments in any order. A flag's value is the next word whatever it looks
 * like (`--offset -5`, `--key-separator -`); `--` ends the flags.
 */
export function parseArgv(root: Command, argv: string[], env: NodeJS.ProcessEnv): Parsed {
  const before = argv.includes('--') ? argv.slice(0, argv.indexOf('--')) : argv;
  if (before.includes('--help') || before.includes('-h'))
    return { kind: 'help', ...walk(root, argv), asked: true };
  if (before[0] === '--version') return { kind: 'version' };

  const chain = [root];
  const path: string[] = [];
  const raw = new Map<string, string[] | true>();
  const args: string[] = [];
  const leaf = () => chain.at(-1)!;
  for (let i = 0; i < argv.length; i++) {
    const tok = argv[i]!;
    if (tok === '--') {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (isFlag(tok)) {
      i = takeFlag(argv, i, leaf(), path, raw);
      continue;
    }
    const c = leaf();
    if (c.subcommands && args.length === 0) {
      const sub = findSub(c, tok);
      if (!sub) {
        const guess = nearest(
          tok,
          visible(c).flatMap((s) => [s.name, ...(s.aliases ?? [])]),
        );
        throw new UsageError(
          `unknown command "${tok}" for ${commandName(path)}${guess ? ` (did you mean ${guess}?)` : ''}`,
          path,
        );
      }
      chain.push(sub);
      path.push(sub.name);
      continue;
    }
    args.push(tok);
  }

  const command = leaf();
  if (!command.run) return { kind: 'help', chain, path, asked: false };
  checkArgs(command, path, args);
  const all = flagsOf(command);
  for (const name of raw.keys()) if (!(name in all)) throw unknownFlag(`--${name}`, command, path);
  const flags: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(all))
    flags[name] = value(name, spec, raw.get(name), path);

  let format = flags.output as Format;
  if (flags.json === true) {
    if (raw.has('output') && format !== 'json')
      throw new UsageError(`--json and -o ${format} disagree: give one of them`, path);
    format = 'json';
  }
  const target = command.target ? TARGETS[command.target] : undefined;
  const bootstrap = target
    ? ((flags.bootstrap as string[] | undefined) ??
      (value(
        'bootstrap',
        all.bootstrap!,
        env[target.env] ? [env[target.env]!] : undefined,
        path,
        target.env,
      ) as string[] | undefined) ?? [target.fallback])
    : [];
  return {
    kind: 'run',
    chain,
    path,
    command,
    args,
    flags,
    format,
    bootstrap,
    timeoutMs: (flags['timeout-ms'] as number | undefined) ?? 5000,
  };
}

/** Reads the flag at argv[i] (and its value); returns the index of the last word it used. */
function takeFlag(
  argv: string[],
  i: number,
  c: Command,
  path: string[],
  raw: Map<string, string[] | true>,
): number {
  const tok = argv[i]!;
  const eq = tok.indexOf('=');
  const written = eq > 0 ? tok.slice(0, eq) : tok;
  const inline = eq > 0 ? tok.slice(eq + 1) : undefined;
  const known = knownAt(c);
  const name = written.startsWith('--')
    ? written.slice(2)
    : Object.entries(known).find(([, s]) => s.short === written.slice(1))?.[0];
  const spec = name === undefined ? undefined : known[name];
  if (!spec || name === undefined) throw unknownFlag(written, c, path);
  const prior = raw.get(name);
  if (spec.kind === 'bool') {
    if (inline !== undefined && !/^(true|false)$/.test(inline))
      throw new UsageError(`${written} is a switch: give it alone (or =true/=false)`, path);
    if (inline === 'false') raw.delete(name);
    else raw.set(name, true);
    return i;
  }
  let v = inline;
  let last = i;
  if (v === undefined) {
    v = argv[i + 1];
    last = i + 1;
    if (v === undefined)
      throw new UsageError(`${written} needs a value (${spec.placeholder ?? 'VALUE'})`, path);
  }
  if (prior !== undefined && !spec.repeatable)
    throw new UsageError(`${written} was given twice; it takes one value`, path);
  raw.set(name, [...(Array.isArray(prior) ? prior : []), v]);
  return last;
}

/** The flags known at `c`: before the command is complete, only those every command takes. */
const knownAt = (c: Command): FlagTable =>
  c.run ? flagsOf(c) : { ...GLOBAL_FLAGS, ...targetFlags('brokers') };

function unknownFlag(written: string, c: Command, path: string[]): UsageError {
  const long = written.replace(/^-+/, '');
  const guess = nearest(long, Object.keys(knownAt(c)));
  const where = c.run ? ` for ${commandName(path)}` : '';
  return new UsageError(
    `unknown flag ${written}${where}${guess ? ` (did you mean --${guess}?)` : ''}`,
    path,
  );
}

function value(
  name: string,
  spec: FlagSpec,
  raw: string[] | true | undefined,
  path: string[],
  from = `--${name}`,
): unknown {
  if (raw === undefined) return spec.default;
  const input = raw === true ? true : spec.repeatable ? raw : raw[raw.length - 1];
  const r = spec.schema.safeParse(input);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const shown =
    raw === true ? '' : ` (got ${JSON.stringify(spec.repeatable ? raw.join(' ') : input)})`;
  throw new UsageError(`${from}: ${issue?.message ?? 'invalid value'}${shown}`, path);
}

function checkArgs(c: Command, path: string[], args: string[]): void {
  const specs = c.args ?? [];
  const required = specs.filter((a) => !a.optional).length;
  const variadic = specs.some((a) => a.variadic);
  const usage = `usage: ${usageLine(path, c)}`;
  if (args.length < required) {
    const missing = specs
      .slice(args.length)
      .filter((a) => !a.optional)
      .map((a) => a.name);
    throw new UsageError(`${commandName(path)} needs ${missing.join(' and ')} (${usage})`, path);
  }
  if (!variadic && args.length > specs.length) {
    const extra = args.slice(specs.length).join(' ');
    throw new UsageError(
      specs.length === 0
        ? `${commandName(path)} takes no arguments, got "${extra}"`
        : `too many arguments for ${commandName(path)}: "${extra}" (${usage})`,
      path,
    );
  }
}
