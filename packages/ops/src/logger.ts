import { StrandError } from '@strand/wire';
import { pino } from 'pino';
import { z } from 'zod';

export type { Logger } from 'pino';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LogLevelSchema = z.enum(LOG_LEVELS);
/** `auto`: pretty lines on a terminal, JSON otherwise (a pipe, a file, a log collector). */
export const LogFormatSchema = z.enum(['json', 'pretty', 'auto']);
export type LogFormat = z.infer<typeof LogFormatSchema>;

const LEVEL_NAMES: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
const LEVEL_COLOURS: Record<number, string> = { 40: '33', 50: '31', 60: '35', 10: '90', 20: '90' };

/** Fields every record has that a pretty line shows in its own place, or not at all. */
const HEADER_FIELDS = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'app', 'node', 'v']);

/**
 * Secrets never reach a log: these keys are censored wherever they appear in a record's first
 * two levels (a broker's token, a user's password or SCRAM proof...). The code does not log
 * them in the first place; this is the net under it.
 */
const SECRET_KEYS = ['token', 'brokerToken', 'broker_token', 'password', 'secret', 'credentials'];
export const REDACTED = '[redacted]';

/** An error as a line shows it: its code and message (the stack stays in the JSON). */
function errText(v: unknown): unknown {
  if (!v || typeof v !== 'object') return v;
  const e = v as { code?: unknown; message?: unknown };
  if (typeof e.message !== 'string') return v;
  return typeof e.code === 'string' && !e.message.startsWith(e.code)
    ? `${e.code}: ${e.message}`
    : e.message;
}

function fieldText(v: unknown): string {
  if (typeof v === 'string') return /[\s"=]/.test(v) || v === '' ? JSON.stringify(v) : v;
  if (Array.isArray(v) && v.every((x) => typeof x !== 'object')) return `[${v.join(',')}]`;
  return JSON.stringify(v);
}

/**
 * One log record (pino's JSON) as one readable line: `msg key=value ...`, after the time,
 * level and who logged it when those are asked for. `strand dev` shows its children's logs
 * this way on a terminal, and the test kit matches patterns against it.
 */
export function formatRecord(
  rec: Record<string, unknown>,
  opts: { time?: boolean; level?: boolean; who?: boolean; colour?: boolean } = {},
): string {
  const parts: string[] = [];
  const paint = (code: string | undefined, s: string) =>
    opts.colour && code ? `\u001b[${code}m${s}\u001b[0m` : s;
  if (opts.time && typeof rec.time === 'number')
    parts.push(paint('90', new Date(rec.time).toISOString().slice(11, 23)));
  const level = typeof rec.level === 'number' ? rec.level : 30;
  if (opts.level) parts.push(paint(LEVEL_COLOURS[level], (LEVEL_NAMES[level] ?? 'INFO').padEnd(5)));
  if (opts.who && rec.app !== undefined)
    parts.push(paint('36', `${rec.app}${rec.node !== undefined ? ` ${rec.node}` : ''}`));
  let line = typeof rec.msg === 'string' ? rec.msg : '';
  for (const [k, v] of Object.entries(rec)) {
    if (HEADER_FIELDS.has(k) || v === undefined) continue;
    line += ` ${paint('2', `${k}=`)}${fieldText(k === 'err' ? errText(v) : v)}`;
  }
  parts.push(line);
  return parts.join(' ');
}

/** A JSON log line back as its record; undefined for any other line. */
export function parseRecord(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const r: unknown = JSON.parse(line);
    return r && typeof r === 'object' && typeof (r as { msg?: unknown }).msg === 'string'
      ? (r as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

export interface LoggerOptions {
  /** The app (`broker`, `coordinator`, `console`): on every record. */
  app: string;
  /** Its node id, if it has one: on every record. */
  node?: number;
  level?: LogLevel;
  format?: LogFormat;
  /** Where lines go (default: stdout). */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
}

/**
 * The app's logger: pino, one JSON object per line on stdout (synchronous writes, so the line
 * before a process.exit() is never lost), or the same records as readable lines when stdout
 * is a terminal. Records carry the ids that matter as fields (topic, partition, epoch,
 * broker, group, member), not only inside the message.
 */
export function createLogger(opts: LoggerOptions): pino.Logger {
  const stream = opts.stream ?? process.stdout;
  const pretty = opts.format === 'pretty' || (opts.format !== 'json' && stream.isTTY === true);
  const options: pino.LoggerOptions = {
    level: opts.level ?? 'info',
    base: { app: opts.app, ...(opts.node !== undefined ? { node: opts.node } : {}) },
    redact: {
      paths: [...SECRET_KEYS, ...SECRET_KEYS.map((k) => `*.${k}`)],
      censor: REDACTED,
    },
    serializers: { err: pino.stdSerializers.err },
  };
  if (!pretty) {
    return pino(
      options,
      stream === process.stdout ? pino.destination({ dest: 1, sync: true }) : stream,
    );
  }
  const colour = stream.isTTY === true && !process.env.NO_COLOR;
  return pino(options, {
    write(line: string) {
      const rec = parseRecord(line);
      stream.write(
        `${rec ? formatRecord(rec, { time: true, level: true, who: true, colour }) : line.trimEnd()}\n`,
      );
    },
  });
}

/**
 * For events that can come in floods (refused requests, failing peers): `ifDue(key)` is the
 * number of events of that kind left out since the last one let through, or undefined while
 * the last one is younger than `everyMs`. At most `maxKeys` kinds are remembered.
 */
export function throttle(everyMs: number, maxKeys = 1000): (key: string) => number | undefined {
  const seen = new Map<string, { at: number; skipped: number }>();
  return (key) => {
    const now = Date.now();
    const s = seen.get(key);
    if (s && now - s.at < everyMs) {
      s.skipped += 1;
      return undefined;
    }
    if (!s && seen.size >= maxKeys) seen.clear();
    seen.set(key, { at: now, skipped: 0 });
    return s?.skipped ?? 0;
  };
}

/** A logger that drops everything (unit tests of components that log). */
export function silentLogger(): pino.Logger {
  return pino({ level: 'silent' });
}

/** An error as one line: `CODE: message` for Strand's typed errors, else its message. */
export function errorLine(err: unknown): string {
  return err instanceof StrandError ? `${err.code}: ${err.message}` : (err as Error).message;
}

/**
 * Runs an app's `main`. If it fails, the failure is logged as fatal through the app's logger
 * once `main` has handed it over (`useLogger`), as one line on stderr before that (bad
 * flags), and the process exits with status 1.
 */
export function runMain(
  app: string,
  main: (useLogger: (log: pino.Logger) => void) => Promise<void>,
): void {
  let fatal = (err: unknown) => console.error(`${app}: ${errorLine(err)}`);
  main((log) => {
    fatal = (err) => log.fatal({ err }, errorLine(err));
  }).catch((err: unknown) => {
    fatal(err);
    process.exit(1);
  });
}
