import { InvalidRequestError } from '@strand/wire';
import { RE2JS } from 're2js';
import type { Catalog } from './group.js';

/** Longest subscription pattern accepted (characters). */
export const MAX_PATTERN_LENGTH = 1000;

/** Compiled patterns kept; beyond, the oldest goes (memory stays bounded). */
const MAX_COMPILED = 1000;

const FLAG_BITS: Record<string, number> = {
  i: RE2JS.CASE_INSENSITIVE,
  m: RE2JS.MULTILINE,
  s: RE2JS.DOTALL,
  u: 0, // RE2 reads UTF-8 anyway
};

const compiled = new Map<string, RE2JS | Error>();

/**
 * A subscription pattern (a JavaScript RegExp's source and flags, as clients send it) compiled
 * for RE2's engine, which matches in time linear in the topic name whatever the pattern — a
 * backtracking engine takes exponential time on patterns like `^(a+)+b$`. Lookarounds and
 * backreferences, which need backtracking, are refused with an InvalidRequestError.
 */
export function compilePattern(pattern: string, flags: string): RE2JS {
  const key = `${flags}/${pattern}`;
  let re = compiled.get(key);
  if (!re) {
    re = compile(pattern, flags);
    if (compiled.size >= MAX_COMPILED) compiled.delete(compiled.keys().next().value!);
    compiled.set(key, re);
  }
  if (re instanceof Error) throw re;
  return re;
}

function compile(pattern: string, flags: string): RE2JS | Error {
  if (pattern.length > MAX_PATTERN_LENGTH)
    return new InvalidRequestError(`a pattern is at most ${MAX_PATTERN_LENGTH} characters`);
  let bits = 0;
  for (const f of flags) {
    const bit = FLAG_BITS[f];
    if (bit === undefined) return new InvalidRequestError(`unknown pattern flag "${f}"`);
    bits |= bit;
  }
  try {
    return RE2JS.compile(RE2JS.translateRegExp(pattern), bits);
  } catch (err) {
    return new InvalidRequestError(
      `pattern /${pattern}/ is not RE2 syntax (no lookarounds or backreferences): ${(err as Error).message}`,
    );
  }
}

function compiledOrNone(pattern: string, flags: string): RE2JS | undefined {
  try {
    return compilePattern(pattern, flags);
  } catch {
    return undefined;
  }
}

/** Matches of one catalog, per pattern: recomputed only when the catalog changes. */
const matched = new WeakMap<Catalog, Map<string, readonly string[]>>();

/**
 * The catalog's topics that `pattern` matches anywhere in their name (RegExp.test's rule).
 * A pattern that does not compile (one stored before patterns were checked) matches nothing.
 */
export function topicsMatching(
  pattern: string,
  flags: string,
  catalog: Catalog,
): readonly string[] {
  let byPattern = matched.get(catalog);
  if (!byPattern) {
    byPattern = new Map();
    matched.set(catalog, byPattern);
  }
  const key = `${flags}/${pattern}`;
  let topics = byPattern.get(key);
  if (!topics) {
    const re = compiledOrNone(pattern, flags);
    topics = re ? [...catalog.keys()].filter((t) => re.test(t)) : [];
    byPattern.set(key, topics);
  }
  return topics;
}
