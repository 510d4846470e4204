import { type AclBinding, WILDCARD } from './acl.js';

/**
 * A range of KV keys, [start, end) in byte order; `end` undefined means no end (every key
 * from `start` on). A single key k is [k, k + 0x00).
 */
export interface KeyRange {
  start: Buffer;
  end: Buffer | undefined;
}

const EMPTY = Buffer.alloc(0);

export const keyRange = (key: Buffer): KeyRange => ({
  start: key,
  end: Buffer.concat([key, Buffer.from([0])]),
});

/** The first key after every key that starts with `prefix` (undefined: none, it is all 0xff). */
export function afterPrefix(prefix: Buffer): Buffer | undefined {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.subarray(0, i + 1);
    }
  }
  return undefined;
}

export const prefixRange = (prefix: Buffer): KeyRange =>
  prefix.length === 0
    ? { start: EMPTY, end: undefined }
    : { start: prefix, end: afterPrefix(prefix) };

/** The keys a `kv` ACL covers: one key, every key with a prefix, or (literal "*") all. */
export function rangeOfAcl(a: Pick<AclBinding, 'patternType' | 'name'>): KeyRange {
  const name = Buffer.from(a.name);
  if (a.patternType === 'prefixed') return prefixRange(name);
  if (a.name === WILDCARD) return { start: EMPTY, end: undefined };
  return keyRange(name);
}

/** a < b with undefined as +infinity (for ends). */
const endBefore = (a: Buffer | undefined, b: Buffer | undefined) =>
  a !== undefined && (b === undefined || Buffer.compare(a, b) < 0);

export const isEmpty = (r: KeyRange): boolean =>
  r.end !== undefined && Buffer.compare(r.start, r.end) >= 0;

export function intersects(a: KeyRange, b: KeyRange): boolean {
  return !isEmpty(a) && !isEmpty(b) && endBefore(b.start, a.end) && endBefore(a.start, b.end);
}

/** Whether the union of `ranges` holds every key of `target`. */
export function covers(ranges: readonly KeyRange[], target: KeyRange): boolean {
  const sorted = [...ranges].sort((x, y) => Buffer.compare(x.start, y.start));
  let reached = target.start;
  for (const r of sorted) {
    if (Buffer.compare(r.start, reached) > 0) break;
    if (r.end === undefined) return true;
    if (Buffer.compare(r.end, reached) > 0) reached = r.end;
    if (target.end !== undefined && Buffer.compare(reached, target.end) >= 0) return true;
  }
  return target.end !== undefined && Buffer.compare(reached, target.end) >= 0;
}
