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

/** How commands reach a secure cluster: TLS (a client certificate is optional), and a user. */
export const CONNECTION_FLAGS = {
  'tls-ca': flag.string("the cluster's CA certificate (PEM): connect over TLS", {
    placeholder: 'FILE',
    defaultText: '$STRAND_TLS_CA',
  }),
  'tls-cert': flag.string('a client certificate (PEM) for mutual TLS; its CN is the principal', {
    placeholder: 'FILE',
    defaultText: '$STRAND_TLS_CERT',
  }),
  'tls-key': flag.string("the client certificate's key (PEM)", {
    placeholder: 'FILE',
    defaultText: '$STRAND_TLS_KEY',
  }),
  user: flag.string('authenticate as this user (SCRAM; needs --tls-ca)', {
    placeholder: 'NAME',
    defaultText: '$STRAND_USER',
  }),
  password: flag.string(
    "the user's password (others on the machine can see it: prefer $STRAND_PASSWORD or --password-stdin)",
    { defaultText: '$STRAND_PASSWORD' },
  ),
  'password-stdin': flag.bool("read the user's password from the first line of stdin"),
  'sasl-mechanism': flag.choice(
    ['SCRAM-SHA-512', 'SCRAM-SHA-256', 'PLAIN'],
    'how to authenticate',
    {
      default: 'SCRAM-SHA-512',
    },
  ),
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
    ...CONNECTION_FLAGS,
  } satisfies FlagTable;
}
