import { z } from 'zod';
import type { FlagSpec } from './spec.js';

/**
 * Flag factories: each returns a FlagSpec whose zod schema turns the raw text into a typed
 * value, with messages in plain words ("must be 0 or more") that the parser prefixes with
 * the flag's name.
 */

interface Common {
  placeholder?: string;
  short?: string;
  defaultText?: string;
}

/** A whole number in [min, max], given as text. */
export const intText = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .trim()
    .regex(/^[-+]?\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(
      z
        .number()
        .refine(Number.isSafeInteger, 'is too large')
        .refine((n) => n >= min, `must be ${min} or more`)
        .refine((n) => n <= max, `must be at most ${max}`),
    );

/** `k=v` (the key non-empty, the value may be empty or contain `=`). */
export const keyValuePair = z
  .string()
  .regex(/^[^=]+=/, 'expected k=v')
  .transform((s) => {
    const i = s.indexOf('=');
    return [s.slice(0, i).trim(), s.slice(i + 1)] as [string, string];
  })
  .refine(([k]) => k.length > 0, 'expected k=v with a non-empty key');

/** Repeated `k=v` values as one object (a later key wins). */
export const keyValueList = z
  .array(keyValuePair)
  .transform((pairs) => Object.fromEntries(pairs) as Record<string, string>);

/** A point in time: milliseconds since the epoch, or an ISO-8601 date (`2026-01-31T12:00:00Z`). */
export const timeText = z
  .string()
  .trim()
  .transform((s, ctx) => {
    const ms = /^\d+$/.test(s) ? Number(s) : Date.parse(s);
    if (!Number.isSafeInteger(ms) || ms < 0) {
      ctx.addIssue({
        code: 'custom',
        message: 'expected milliseconds since the epoch or an ISO date like 2026-01-31T12:00:00Z',
      });
      return z.NEVER;
    }
    return ms;
  });

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A duration: `500ms`, `30s`, `5m`, `1h`; a bare number is in `bareUnit`. Milliseconds out. */
export const durationText = (bareUnit: 'ms' | 's', min = 1) =>
  z
    .string()
    .trim()
    .transform((s, ctx) => {
      const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(s);
      const ms = m ? Math.round(Number(m[1]) * UNITS[m[2] ?? bareUnit]!) : Number.NaN;
      if (!Number.isSafeInteger(ms) || ms < min) {
        ctx.addIssue({
          code: 'custom',
          message: `expected a duration like 30s, 500ms or 5m (at least ${min} ms)`,
        });
        return z.NEVER;
      }
      return ms;
    });

type WithDefault<O, T> = O extends { default: T } ? true : false;

export const flag = {
  /** A switch; false when absent. */
  bool(help: string, o: Omit<Common, 'placeholder'> = {}): FlagSpec<boolean, true> {
    return { kind: 'bool', help, schema: z.boolean(), default: false, ...o };
  },

  int<O extends Common & { min?: number; max?: number; default?: number }>(
    help: string,
    o?: O,
  ): FlagSpec<number, WithDefault<O, number>> {
    const { min = 0, max, ...rest } = o ?? ({} as O);
    return { kind: 'value', help, placeholder: 'N', schema: intText(min, max), ...rest };
  },

  string<O extends Common & { default?: string; choices?: readonly string[] }>(
    help: string,
    o?: O,
  ): FlagSpec<string, WithDefault<O, string>> {
    return {
      kind: 'value',
      help,
      placeholder: 'TEXT',
      schema: z.string().min(1, 'cannot be empty'),
      ...o,
    };
  },

  choice<
    const V extends readonly [string, ...string[]],
    O extends Common & { default?: V[number] },
  >(values: V, help: string, o?: O): FlagSpec<V[number], WithDefault<O, V[number]>> {
    const list = values.join(', ').replace(/, ([^,]*)$/, ' or $1');
    return {
      kind: 'value',
      help,
      placeholder: values.join('|'),
      choices: values,
      schema: z.enum(values, { message: `must be ${list}` }) as unknown as FlagSpec<
        V[number]
      >['schema'],
      ...o,
    };
  },

  /** Repeatable `k=v`, as one object. */
  pairs(help: string, o: Common = {}): FlagSpec<Record<string, string>, false> {
    return {
      kind: 'value',
      help: `${help} (repeatable)`,
      placeholder: 'k=v',
      repeatable: true,
      schema: keyValueList,
      ...o,
    };
  },

  /** Repeatable text values, in order. */
  list(help: string, o: Common = {}): FlagSpec<string[], false> {
    return {
      kind: 'value',
      help: `${help} (repeatable)`,
      placeholder: 'TEXT',
      repeatable: true,
      schema: z.array(z.string().trim().min(1, 'cannot be empty')),
      ...o,
    };
  },

  /** A point in time, in milliseconds since the epoch. */
  time(help: string, o: Common = {}): FlagSpec<number, false> {
    return { kind: 'value', help, placeholder: 'TIME', schema: timeText, ...o };
  },

  /** A duration in milliseconds (`30s`, `500ms`; a bare number is in `bareUnit`). */
  duration<O extends Common & { default?: number; bareUnit?: 'ms' | 's'; min?: number }>(
    help: string,
    o?: O,
  ): FlagSpec<number, WithDefault<O, number>> {
    const { bareUnit = 's', min = 1, ...rest } = o ?? ({} as O);
    return {
      kind: 'value',
      help,
      placeholder: 'DURATION',
      schema: durationText(bareUnit, min),
      ...rest,
    };
  },

  /** Any other value type, given its schema. */
  custom<T, O extends Common & { default?: T; choices?: readonly string[] }>(
    schema: FlagSpec<T>['schema'],
    help: string,
    o?: O,
  ): FlagSpec<T, WithDefault<O, T>> {
    return { kind: 'value', help, placeholder: 'VALUE', schema, ...o };
  },
};
