import { parseArgs } from 'node:util';
import { InvalidRequestError } from '@strand/wire';
import { type ZodType, z } from 'zod';

const hostPort = z.string().regex(/^[^:\s,]+:\d{1,5}$/, 'expected host:port');

export const GlobalOptions = z.object({
  bootstrap: z
    .string()
    .transform((s) =>
      s
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean),
    )
    .pipe(z.array(hostPort).min(1)),
  json: z.boolean(),
  timeoutMs: z.coerce.number().int().positive(),
});
export type GlobalOptions = z.infer<typeof GlobalOptions>;

/** Brokers: what topic, produce, consume and cluster commands talk to. */
export const DEFAULT_BOOTSTRAP = '127.0.0.1:9092';
/** Coordinators (the KV store): what `strand kv ...` talks to. */
export const DEFAULT_KV_BOOTSTRAP = '127.0.0.1:2379';

export type FlagValue = string | boolean | string[] | undefined;

export interface Parsed {
  command: string[];
  flags: Record<string, FlagValue>;
  global: GlobalOptions;
}

const OPTIONS = {
  bootstrap: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  'timeout-ms': { type: 'string' },
  // kv
  consistency: { type: 'string' },
  prefix: { type: 'boolean' },
  limit: { type: 'string' },
  lease: { type: 'string' },
  'from-revision': { type: 'string' },
  count: { type: 'string' },
  // dev
  data: { type: 'string' },
  port: { type: 'string' },
  'broker-port': { type: 'string' },
  // topics
  partitions: { type: 'string' },
  'replication-factor': { type: 'string' },
  config: { type: 'string', multiple: true },
  'delete-config': { type: 'string', multiple: true },
  replicas: { type: 'string' },
  // produce
  file: { type: 'string' },
  'key-separator': { type: 'string' },
  header: { type: 'string', multiple: true },
  partition: { type: 'string' },
  acks: { type: 'string' },
  // consume
  'from-beginning': { type: 'boolean' },
  offset: { type: 'string' },
  'from-time': { type: 'string' },
  follow: { type: 'boolean' },
  format: { type: 'string' },
  group: { type: 'string' },
  'session-timeout-ms': { type: 'string' },
  'group-instance-id': { type: 'string' },
  // group
  'to-earliest': { type: 'boolean' },
  'to-latest': { type: 'boolean' },
  'to-offset': { type: 'string' },
  'to-datetime': { type: 'string' },
  topic: { type: 'string' },
} as const;

/**
 * Parses argv (without node and script) into a command path, flags and validated globals.
 * `--bootstrap` defaults per command family: `strand kv` talks to coordinators
 * ($STRAND_KV_BOOTSTRAP, then 127.0.0.1:2379), everything else to brokers ($STRAND_BOOTSTRAP,
 * then 127.0.0.1:9092).
 */
export function parseCli(argv: string[], env: NodeJS.ProcessEnv): Parsed {
  let parsed: ReturnType<
    typeof parseArgs<{
      args: string[];
      options: typeof OPTIONS;
      allowPositionals: true;
      strict: true;
    }>
  >;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new InvalidRequestError((err as Error).message);
  }
  const kv = parsed.positionals[0] === 'kv';
  const fallback = kv
    ? (env.STRAND_KV_BOOTSTRAP ?? DEFAULT_KV_BOOTSTRAP)
    : (env.STRAND_BOOTSTRAP ?? DEFAULT_BOOTSTRAP);
  const g = GlobalOptions.safeParse({
    bootstrap: parsed.values.bootstrap ?? fallback,
    json: parsed.values.json ?? false,
    timeoutMs: parsed.values['timeout-ms'] ?? 5000,
  });
  if (!g.success) {
    const i = g.error.issues[0];
    throw new InvalidRequestError(
      `--${String(i?.path[0] ?? 'option')}: ${i?.message ?? 'invalid'}`,
    );
  }
  return { command: parsed.positionals, flags: parsed.values, global: g.data };
}

export function intFlag(flags: Parsed['flags'], name: string, min = 0): number | undefined {
  const raw = flags[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (typeof raw !== 'string' || !Number.isSafeInteger(n) || n < min)
    throw new InvalidRequestError(`--${name} must be an integer >= ${min}, got ${String(raw)}`);
  return n;
}

/** Exactly `count` positional arguments after the command words, else a usage error. */
export function need(args: string[], count: number, usage: string): string[] {
  if (args.length !== count) throw new InvalidRequestError(`usage: ${usage}`);
  return args;
}

// ---------- zod building blocks for command flags (values arrive as strings) ----------

/** A decimal integer in [min, max], given as a string. */
export const intString = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .trim()
    .regex(/^-?\d+$/, 'must be an integer')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

/** `k=v` (the key non-empty, the value may be empty or contain `=`). */
export const keyValuePair = z
  .string()
  .regex(/^[^=]+=/, 'expected k=v')
  .transform((s) => {
    const i = s.indexOf('=');
    return [s.slice(0, i).trim(), s.slice(i + 1)] as [string, string];
  })
  .refine(([k]) => k.length > 0, 'expected k=v with a non-empty key');

/** Repeated `k=v` flags as one object (a later key wins). */
export const keyValueList = z
  .array(keyValuePair)
  .transform((pairs) => Object.fromEntries(pairs) as Record<string, string>);

/** A point in time: milliseconds since the epoch, or an ISO-8601 date (`2026-01-31T12:00:00Z`). */
export const timeString = z
  .string()
  .trim()
  .transform((s, ctx) => {
    const ms = /^\d+$/.test(s) ? Number(s) : Date.parse(s);
    if (!Number.isSafeInteger(ms) || ms < 0) {
      ctx.addIssue({
        code: 'custom',
        message: 'expected milliseconds since the epoch or an ISO date',
      });
      return z.NEVER;
    }
    return ms;
  });

/** `0`, `1`, `all` (or `-1`, Kafka's spelling of all). */
export const acksString = z
  .enum(['0', '1', 'all', '-1'], { message: 'must be 0, 1 or all' })
  .transform((a) => (a === '0' ? 0 : a === '1' ? 1 : 'all') as 0 | 1 | 'all');

/**
 * Validates flags with a zod object whose keys are flag names (`'key-separator'`); the first
 * problem becomes an InvalidRequestError naming the flag (exit status 2).
 */
export function parseFlags<T>(schema: ZodType<T>, flags: Parsed['flags']): T {
  const r = schema.safeParse(flags);
  if (r.success) return r.data;
  const i = r.error.issues[0];
  const flag = i?.path[0];
  throw new InvalidRequestError(
    flag === undefined ? (i?.message ?? 'invalid options') : `--${String(flag)}: ${i?.message}`,
  );
}

/** What every SDK client (Admin, Producer, Consumer) gets from the global flags. */
export function clientOptions(p: Parsed): {
  bootstrap: string[];
  clientId: string;
  requestTimeoutMs: number;
} {
  return {
    bootstrap: p.global.bootstrap,
    clientId: 'strand-cli',
    requestTimeoutMs: p.global.timeoutMs,
  };
}
