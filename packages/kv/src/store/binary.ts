import { InvalidRequestError } from '@strand/wire';

/**
 * A small declarative binary format: a value's shape is described by a `Type`, and one generic
 * writer and one generic reader walk it. Integers are LEB128 varints (up to 2^53 - 1), signed
 * ones zigzagged; bytes and strings carry a varint length; an optional field is a presence
 * byte then the value; a union is a one-byte tag (its position in the table) then its fields.
 * The writer checks every value against its type (the edge validation); the reader checks
 * every length and tag against the input and throws InvalidRequestError, never anything else.
 */
export type Type =
  | 'bytes'
  | 'string'
  | 'bool'
  | 'uint'
  | 'posint'
  | 'int'
  /** A string of at most `max` UTF-16 code units (what zod's `max` counts). */
  | { readonly string: { readonly max: number } }
  | { readonly enum: readonly string[] }
  | { readonly list: Type; readonly max: number }
  | { readonly struct: readonly Field[] }
  /** Discriminated by the field `t`: the tag is the key's position in the table. */
  | { readonly union: Readonly<Record<string, readonly Field[]>> }
  /** The first type of the list that accepts the value (numbers, then bytes, ...). */
  | { readonly either: readonly ('int' | 'bytes')[] };

export interface Field {
  readonly name: string;
  readonly type: Type;
  readonly optional?: boolean;
}

function invalid(message: string): InvalidRequestError {
  return new InvalidRequestError(`invalid command: ${message}`);
}

/** Growable output buffer. */
export class Writer {
  private buf = Buffer.allocUnsafe(256);
  private pos = 0;

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(v: number): void {
    this.room(1);
    this.buf[this.pos++] = v;
  }

  varint(v: number): void {
    this.room(8);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
  }

  raw(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

/** Bounds-checked input: the bytes of `buf` from `pos` up to `end`. */
export class Reader {
  constructor(
    private readonly buf: Buffer,
    public pos = 0,
    private readonly end = buf.length,
  ) {}

  get remaining(): number {
    return this.end - this.pos;
  }

  u8(): number {
    if (this.pos >= this.end) throw invalid(`truncated at byte ${this.pos}`);
    return this.buf[this.pos++]!;
  }

  varint(): number {
    let v = 0;
    let scale = 1;
    for (let i = 0; ; i++) {
      const b = this.u8();
      v += (b & 0x7f) * scale;
      if (b < 0x80) break;
      scale *= 0x80;
      if (i >= 7) throw invalid(`varint too long at byte ${this.pos}`);
    }
    if (!Number.isSafeInteger(v)) throw invalid(`integer out of range at byte ${this.pos}`);
    return v;
  }

  private take(n: number): number {
    if (n > this.remaining) throw invalid(`length ${n} past the end at byte ${this.pos}`);
    const at = this.pos;
    this.pos += n;
    return at;
  }

  /** The next `n` bytes as a reader of their own (no copy). */
  sub(n: number): Reader {
    const at = this.take(n);
    return new Reader(this.buf, at, at + n);
  }

  /** A copy, so a decoded value does not pin the whole input in memory. */
  bytes(n: number): Buffer {
    const at = this.take(n);
    const out = Buffer.allocUnsafe(n);
    this.buf.copy(out, 0, at, at + n);
    return out;
  }

  string(n: number): string {
    const at = this.take(n);
    return this.buf.toString('utf8', at, at + n);
  }
}

/** Each union's names in tag order, computed once per table. */
const unionNames = new WeakMap<object, string[]>();
function namesOf(union: Readonly<Record<string, readonly Field[]>>): string[] {
  let names = unionNames.get(union);
  if (!names) {
    names = Object.keys(union);
    unionNames.set(union, names);
  }
  return names;
}

const isBytes = (v: unknown): v is Uint8Array => v instanceof Uint8Array;

function accepts(type: 'int' | 'bytes', v: unknown): boolean {
  return type === 'int' ? Number.isSafeInteger(v) : isBytes(v);
}

/** Writes `v` as `type`; throws InvalidRequestError naming `path` when it does not fit. */
export function write(w: Writer, type: Type, v: unknown, path: string): void {
  const bad = (want: string) => invalid(`${path} must be ${want}`);
  if (typeof type === 'string') {
    switch (type) {
      case 'bytes':
        if (!isBytes(v)) throw bad('bytes');
        w.varint(v.length);
        w.raw(v);
        return;
      case 'string': {
        if (typeof v !== 'string') throw bad('a string');
        const b = Buffer.from(v, 'utf8');
        w.varint(b.length);
        w.raw(b);
        return;
      }
      case 'bool':
        if (typeof v !== 'boolean') throw bad('a boolean');
        w.u8(v ? 1 : 0);
        return;
      case 'uint':
      case 'posint':
        if (!Number.isSafeInteger(v) || (v as number) < (type === 'uint' ? 0 : 1))
          throw bad(type === 'uint' ? 'an integer >= 0' : 'an integer >= 1');
        w.varint(v as number);
        return;
      case 'int':
        if (!Number.isSafeInteger(v) || Math.abs(v as number) >= 2 ** 52)
          throw bad('an integer of magnitude below 2^52');
        w.varint((v as number) < 0 ? -2 * (v as number) - 1 : 2 * (v as number));
        return;
    }
  }
  if ('string' in type) {
    if (typeof v !== 'string' || v.length > type.string.max)
      throw bad(`a string of at most ${type.string.max} characters`);
    write(w, 'string', v, path);
  } else if ('enum' in type) {
    const i = type.enum.indexOf(v as string);
    if (i < 0) throw bad(`one of ${type.enum.join(', ')}`);
    w.u8(i);
  } else if ('list' in type) {
    if (!Array.isArray(v) || v.length > type.max) throw bad(`a list of at most ${type.max}`);
    w.varint(v.length);
    for (let i = 0; i < v.length; i++) write(w, type.list, v[i], `${path}[${i}]`);
  } else if ('struct' in type) {
    writeFields(w, type.struct, v, path);
  } else if ('union' in type) {
    const t = (v as { t?: unknown } | undefined)?.t;
    const names = namesOf(type.union);
    const tag = typeof t === 'string' ? names.indexOf(t) : -1;
    if (tag < 0) throw bad(`an object whose t is one of ${names.join(', ')}`);
    w.u8(tag);
    writeFields(w, type.union[t as string]!, v, path);
  } else {
    const tag = type.either.findIndex((t) => accepts(t, v));
    if (tag < 0) throw bad(type.either.join(' or '));
    w.u8(tag);
    write(w, type.either[tag]!, v, path);
  }
}

/** Each table's field names (and `t` for a union's), computed once per table. */
const fieldNames = new WeakMap<readonly Field[], Set<string>>();
function namesOfFields(fields: readonly Field[]): Set<string> {
  let names = fieldNames.get(fields);
  if (!names) {
    names = new Set(['t', ...fields.map((f) => f.name)]);
    fieldNames.set(fields, names);
  }
  return names;
}

function writeFields(w: Writer, fields: readonly Field[], v: unknown, path: string): void {
  if (typeof v !== 'object' || v === null) throw invalid(`${path} must be an object`);
  const obj = v as Record<string, unknown>;
  // A field the table lacks would be dropped without a word: refuse it, so a new field cannot
  // be added to a command without adding it to its table.
  const known = namesOfFields(fields);
  for (const k in obj)
    if (obj[k] !== undefined && !known.has(k)) throw invalid(`${path} has no field ${k}`);
  for (const f of fields) {
    const value = obj[f.name];
    if (f.optional) {
      w.u8(value === undefined ? 0 : 1);
      if (value === undefined) continue;
    }
    write(w, f.type, value, `${path}.${f.name}`);
  }
}

/**
 * Reads a value of `type`: the exact shape `write` takes (absent optionals are left out).
 * `open`: the value fills the rest of `r`, so optional fields after its end are absent (a field
 * appended to a struct's table later leaves values written before it readable).
 */
export function read(r: Reader, type: Type, open = false): unknown {
  if (typeof type === 'string') {
    switch (type) {
      case 'bytes':
        return r.bytes(r.varint());
      case 'string':
        return r.string(r.varint());
      case 'bool': {
        const b = r.u8();
        if (b > 1) throw invalid(`boolean ${b} at byte ${r.pos - 1}`);
        return b === 1;
      }
      case 'uint':
        return r.varint();
      case 'posint': {
        const n = r.varint();
        if (n < 1) throw invalid(`0 where an integer >= 1 belongs, at byte ${r.pos - 1}`);
        return n;
      }
      case 'int': {
        const z = r.varint();
        return z % 2 === 1 ? -(z + 1) / 2 : z / 2;
      }
    }
  }
  if ('string' in type) {
    const text = r.string(r.varint());
    if (text.length > type.string.max) throw invalid(`string longer than ${type.string.max}`);
    return text;
  }
  if ('enum' in type) {
    const i = r.u8();
    const name = type.enum[i];
    if (name === undefined) throw invalid(`unknown value ${i} at byte ${r.pos - 1}`);
    return name;
  }
  if ('list' in type) {
    const n = r.varint();
    // Every item takes at least one byte: a count past the input is a lie, not an allocation.
    if (n > type.max || n > r.remaining) throw invalid(`list of ${n} at byte ${r.pos}`);
    const out: unknown[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = read(r, type.list);
    return out;
  }
  if ('struct' in type) return readFields(r, type.struct, {}, open);
  if ('union' in type) {
    const tag = r.u8();
    const name = namesOf(type.union)[tag];
    if (name === undefined) throw invalid(`unknown command tag ${tag} at byte ${r.pos - 1}`);
    return readFields(r, type.union[name]!, { t: name }, open);
  }
  const tag = r.u8();
  const inner = type.either[tag];
  if (inner === undefined) throw invalid(`unknown variant ${tag} at byte ${r.pos - 1}`);
  return read(r, inner);
}

function readFields(
  r: Reader,
  fields: readonly Field[],
  out: Record<string, unknown>,
  open: boolean,
): Record<string, unknown> {
  for (const f of fields) {
    if (f.optional) {
      if (open && r.remaining === 0) continue;
      const present = r.u8();
      if (present > 1) throw invalid(`presence byte ${present} at byte ${r.pos - 1}`);
      if (present === 0) continue;
    }
    out[f.name] = read(r, f.type);
  }
  return out;
}
