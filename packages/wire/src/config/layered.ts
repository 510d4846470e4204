import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { InvalidConfigError } from '../errors/errors.js';

/** `host:port` as the apps take it on the command line and in config files. */
export const HostPortSchema = z
  .string()
  .regex(/^[A-Za-z0-9.\-[\]:]+:\d{1,5}$/, 'expected host:port');

/** One setting an app takes from a flag, an environment variable or its JSON config file. */
export interface ConfigField {
  /** The key in the config (and in the JSON file). */
  key: string;
  /** The command-line flag, without the leading "--". */
  flag: string;
  env?: string;
  /** Turns the text of the flag or variable into the key's value (default: the text). */
  parse?: (text: string) => unknown;
}

/**
 * An app's config from (lowest to highest precedence) a JSON file (`--config`, or the
 * variable `configEnv`), the environment and the flags, checked by `schema`. Anything wrong,
 * unknown flags included, is one InvalidConfigError naming every problem.
 */
export function loadLayeredConfig<S extends z.ZodType>(opts: {
  what: string;
  argv: string[];
  env: NodeJS.ProcessEnv;
  configEnv: string;
  fields: readonly ConfigField[];
  schema: S;
}): z.output<S> {
  const options: Record<string, { type: 'string' }> = { config: { type: 'string' } };
  for (const f of opts.fields) options[f.flag] = { type: 'string' };
  let flags: Record<string, string | boolean | undefined>;
  try {
    flags = parseArgs({ args: opts.argv, options, strict: true }).values;
  } catch (err) {
    throw new InvalidConfigError((err as Error).message);
  }
  const merged = readConfigFile((flags.config as string | undefined) ?? opts.env[opts.configEnv]);
  for (const f of opts.fields) {
    const text = (flags[f.flag] as string | undefined) ?? (f.env ? opts.env[f.env] : undefined);
    if (text !== undefined) merged[f.key] = f.parse ? f.parse(text) : text;
  }
  const result = opts.schema.safeParse(merged);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${i.path.join('.') || 'config'}: ${i.message}`);
  throw new InvalidConfigError(`invalid ${opts.what} config: ${problems.join('; ')}`);
}

function readConfigFile(path: string | undefined): Record<string, unknown> {
  if (!path) return {};
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new InvalidConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
}

/** `a,b,c` → ['a', 'b', 'c'] (blanks dropped). */
export const commaList = (text: string): string[] =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
