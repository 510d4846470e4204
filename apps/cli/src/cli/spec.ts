import type { ZodType } from 'zod';
import type { Output } from './output.js';

/**
 * The declarative shape of the `strand` command: every command is one entry (name, summary,
 * arguments, flags with their types, defaults and help, examples, handler). One parser, one
 * help printer and one completion generator read these entries; nothing is written per command.
 */

/** One flag. `T` is the parsed value; `D` whether it has a default (then it is never undefined). */
export interface FlagSpec<T = unknown, D extends boolean = boolean> {
  /** `value`: takes a value (`--n 3`, `--n=3`); `bool`: a switch. */
  kind: 'value' | 'bool';
  help: string;
  /** The value's placeholder in usage lines: `N`, `MS`, `k=v`. */
  placeholder?: string;
  short?: string;
  /** May be given more than once (the schema then gets every value, in order). */
  repeatable?: boolean;
  /** Values for shell completion (and shown in help). */
  choices?: readonly string[];
  /** Shown as "(default …)"; `default` is also what the schema's caller gets when absent. */
  defaultText?: string;
  default?: T;
  /** Parses the raw value (a string, a string[] when repeatable, true for a switch). */
  schema: ZodType<T>;
  /** Phantom: whether a default makes the value always present. */
  readonly hasDefault?: D;
}

// biome-ignore lint/suspicious/noExplicitAny: a table of flags of any value type
export type FlagTable = Record<string, FlagSpec<any, boolean>>;

type FlagValue<S> =
  S extends FlagSpec<infer T, infer D> ? (D extends true ? T : T | undefined) : never;

/** What a handler receives for a flag table: each flag's parsed value. */
export type FlagValues<F extends FlagTable> = { -readonly [K in keyof F]: FlagValue<F[K]> };

export interface ArgSpec {
  name: string;
  help: string;
  optional?: boolean;
  /** Takes every remaining argument (at least one unless optional). */
  variadic?: boolean;
  /** Values for shell completion. */
  choices?: readonly string[];
}

/** Which nodes a command talks to: its --bootstrap default and how failures are explained. */
export type Target = 'brokers' | 'coordinators';

export interface Context<F extends FlagTable = FlagTable> {
  /** The whole command table (for help and completion). */
  root: Command;
  /** The command words (`['topic', 'create']`). */
  path: string[];
  args: string[];
  flags: FlagValues<F>;
  /** Present when the command has a target. */
  bootstrap: string[];
  timeoutMs: number;
  out: Output;
  /** Aborted on the first SIGINT or SIGTERM (a second one ends the process at once). */
  signal: AbortSignal;
  env: NodeJS.ProcessEnv;
}

export interface Example {
  /** The command line, starting with `strand`. */
  command: string;
  note?: string;
}

export interface Command<F extends FlagTable = FlagTable> {
  name: string;
  /** One line, lower case, no final period: what lists of commands show. */
  summary: string;
  /** Paragraphs for the command's own help page (wrapped to the terminal). */
  description?: string;
  aliases?: string[];
  args?: ArgSpec[];
  flags?: F;
  examples?: Example[];
  target?: Target;
  /** Cross-flag rules, checked before anything is contacted (throw UsageError). */
  check?: (ctx: { args: string[]; flags: FlagValues<F> }) => void;
  /** Returns the exit status (default 0). */
  run?: (ctx: Context<F>) => Promise<number | undefined> | number | undefined;
  subcommands?: Command[];
  /** Left out of help lists and completion (`strand __complete`-style internals). */
  hidden?: boolean;
}

/** Declares a command; the identity function that lets TypeScript infer the flags' types. */
export function command<F extends FlagTable = Record<never, never>>(c: Command<F>): Command {
  return c as unknown as Command;
}
