import { z } from 'zod';
import { flag } from './flags.js';
import { FORMATS } from './output.js';
import type { FlagTable, Target } from './spec.js';

/** Brokers: what topic, produce, consume, group and cluster commands talk to. */
export const DEFAULT_BOOTSTRAP = '127.0.0.1:9092';
/** Coordinators (the KV store): what `strand kv ...` talks to. */
export const DEFAULT_KV_BOOTSTRAP = '127.0.0.1:2379';

/** Per target: where it is by default, and the environment variable that says otherwise. */
export const TARGETS: Record<Target, { env: string; fallback: string; noun: string }> = {
  brokers: { env: 'STRAND_BOOTSTRAP', fallback: DEFAULT_BOOTSTRAP, noun: 'broker' },
  coordinators: { env: 'STRAND_KV_BOOTSTRAP', fallback: DEFAULT_KV_BOOTSTRAP, noun: 'coordinator' },
};

const hostPort = z
  .string()
  .regex(/^[^:\s,]+:\d{1,5}$/, 'expected host:port')
  .refine(
    (s) => Number(s.slice(s.lastIndexOf(':') + 1)) <= 65535,
    'the port must be at most 65535',
  );

export const bootstrapList = z
  .string()
  .transform((s) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  )
  .pipe(z.array(hostPort).min(1, 'expected host:port[,host:port...]'));

/** Flags every command takes. */
export const GLOBAL_FLAGS = {
  output: flag.choice(FORMATS, 'output format', { short: 'o', default: 'table' }),
  json: flag.bool('the same as -o json (errors too are JSON, on stderr)'),
  help: flag.bool("this command's help", { short: 'h' }),
} satisfies FlagTable;

/** Flags of commands that talk to a cluster. */
export function targetFlags(t: Target) {
  const { env, fallback, noun } = TARGETS[t];
  return {
    bootstrap: flag.custom(bootstrapList, `any ${noun}s of the cluster`, {
      placeholder: 'host:port[,...]',
      defaultText: `$${env}, then ${fallback}`,
    }),
    'timeout-ms': flag.int('how long each request may take', {
      min: 1,
      default: 5000,
      placeholder: 'MS',
    }),
  } satisfies FlagTable;
}
