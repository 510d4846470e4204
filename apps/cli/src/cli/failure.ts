import { ErrorCode, StrandError } from '@strand/wire';
import { TARGETS } from './globals.js';
import { type Answerer, whoAnswers } from './probe.js';
import type { Target } from './spec.js';
import { commandName, UsageError } from './usage.js';

/** What the user sees when a command fails, and the exit status. */
export interface Failure {
  code: string;
  message: string;
  exit: number;
  /** The command whose help explains a usage error. */
  helpPath?: string[];
  /** Said in words of its own: no error code in front of the text. */
  plain?: boolean;
}

/** Exit status 2: the input was wrong (what was typed, a flag, the bootstrap address). */
const BAD_INPUT = new Set<string>([
  ErrorCode.InvalidRequest,
  ErrorCode.InvalidConfig,
  ErrorCode.ReservedKey,
]);

/** Errors that may mean "nothing (or the wrong thing) listens there": worth a look. */
const MAYBE_WRONG_PLACE = new Set<string>([
  ErrorCode.Unavailable,
  ErrorCode.Timeout,
  ErrorCode.Internal,
  ErrorCode.Unimplemented,
]);

export interface FailureContext {
  target?: Target;
  bootstrap: string[];
  path: string[];
}

const single = (s: string) => s.replace(/\s*\n\s*/g, '; ').trim();

/**
 * The one place errors become messages and exit statuses. A failure to reach the cluster is
 * checked against what actually answers at the bootstrap addresses, so that "nothing runs
 * there" and "that is a coordinator, not a broker" are said in those words.
 */
export async function explain(err: unknown, ctx: FailureContext): Promise<Failure> {
  if (err instanceof UsageError)
    return { code: err.code, message: single(err.message), exit: 2, helpPath: err.path };
  const strand =
    err instanceof StrandError
      ? err
      : new StrandError(ErrorCode.Internal, err instanceof Error ? err.message : String(err));
  if (ctx.target && MAYBE_WRONG_PLACE.has(strand.code)) {
    const better = await whereInstead(ctx.target, ctx.bootstrap, ctx.path);
    if (better) return better;
  }
  return {
    code: strand.code,
    message: single(strand.message),
    exit: BAD_INPUT.has(strand.code) ? 2 : 1,
    ...((strand as { plain?: boolean }).plain ? { plain: true } : {}),
  };
}

async function whereInstead(
  target: Target,
  bootstrap: string[],
  path: string[],
): Promise<Failure | undefined> {
  const { env, fallback, noun } = TARGETS[target];
  const found = await Promise.all(bootstrap.map(async (a) => [a, await whoAnswers(a)] as const));
  const hint = `set --bootstrap or ${env}`;
  const wanted: Answerer = target === 'brokers' ? 'broker' : 'coordinator';
  if (found.every(([, w]) => w === 'down'))
    return {
      code: ErrorCode.Unavailable,
      message: `no Strand ${noun} answers at ${bootstrap.join(', ')} (is \`pnpm dev\` running? ${hint})`,
      exit: 1,
      plain: true,
    };
  if (found.some(([, w]) => w === wanted)) return undefined;
  const wrong = found.find(([, w]) => w === 'broker' || w === 'coordinator');
  if (wrong) {
    return {
      code: ErrorCode.InvalidRequest,
      message: `${wrong[0]} is a ${wrong[1]}; ${path[0] ?? ''} commands go to ${noun}s (${fallback} in \`strand dev\`; ${hint})`,
      exit: 2,
      plain: true,
    };
  }
  const [address] = found.find(([, w]) => w === 'other')!;
  return {
    code: ErrorCode.Unavailable,
    message: `${address} answers, but not as a Strand ${noun} (${hint})`,
    exit: 1,
    plain: true,
  };
}

/** The line(s) written to stderr for a failure. */
export function failureText(f: Failure, json: boolean): string {
  if (json) return JSON.stringify({ error: { code: f.code, message: f.message } });
  if (f.helpPath) return `strand: ${f.message}; see "${commandName(f.helpPath)} --help"`;
  if (f.plain) return `strand: ${f.message}`;
  return `strand: ${f.code}: ${f.message}`;
}
