import { parseArgs } from 'node:util';
import { InvalidRequestError } from '@strand/wire';
import { z } from 'zod';

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

export const DEFAULT_BOOTSTRAP = '127.0.0.1:2379';

export interface Parsed {
  command: string[];
  flags: Record<string, string | boolean | undefined>;
  global: GlobalOptions;
}

const OPTIONS = {
  bootstrap: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  'timeout-ms': { type: 'string' },
  consistency: { type: 'string' },
  prefix: { type: 'boolean' },
  limit: { type: 'string' },
  lease: { type: 'string' },
  'from-revision': { type: 'string' },
  count: { type: 'string' },
  data: { type: 'string' },
  port: { type: 'string' },
} as const;

/** Parses argv (without node and script) into a command path, flags and validated globals. */
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
  const g = GlobalOptions.safeParse({
    bootstrap: parsed.values.bootstrap ?? env.STRAND_BOOTSTRAP ?? DEFAULT_BOOTSTRAP,
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
  if (!Number.isSafeInteger(n) || n < min)
    throw new InvalidRequestError(`--${name} must be an integer >= ${min}, got ${String(raw)}`);
  return n;
}
