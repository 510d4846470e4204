import { Reader, Writer } from './io.js';
import { KafkaProtocolError } from './protocol-error.js';
import { type FieldDef, type FieldType, inVersions, type Primitive } from './schema.js';

/**
 * The one encoder/decoder: it reads a message's description, compiled once per version into a
 * plan (the fields present in that version, in wire order, and the tagged ones by tag).
 */

interface Op {
  name: string;
  type: FieldType;
  items: Primitive | undefined;
  nullable: boolean;
  tag: number | undefined;
  /** A fresh default each call (arrays and structs must not be shared between messages). */
  makeDefault: () => unknown;
  isDefault: (v: unknown) => boolean;
  sub: Plan | undefined;
}

interface Plan {
  flexible: boolean;
  /** Every field of the description, present in this version or not (for defaults). */
  all: { name: string; makeDefault: () => unknown }[];
  fields: Op[];
  tagged: Op[];
  byTag: Map<number, Op>;
  /** The fewest bytes one message of this plan can take (bounds forged array counts). */
  minSize: number;
}

const ZERO_UUID = '00000000-0000-0000-0000-000000000000';
const EMPTY = Buffer.alloc(0);

function primitiveDefault(type: Primitive, d: FieldDef['default']): unknown {
  if (d !== undefined) return d;
  switch (type) {
    case 'bool':
      return false;
    case 'string':
      return '';
    case 'uuid':
      return ZERO_UUID;
    case 'bytes':
      return EMPTY;
    case 'records':
      return null;
    default:
      return 0;
  }
}

const plans = new WeakMap<readonly FieldDef[], Map<string, Plan>>();

export function planFor(defs: readonly FieldDef[], version: number, flexible: boolean): Plan {
  let byVersion = plans.get(defs);
  if (!byVersion) {
    byVersion = new Map();
    plans.set(defs, byVersion);
  }
  const k = `${version}${flexible ? 'f' : ''}`;
  let plan = byVersion.get(k);
  if (!plan) {
    plan = compile(defs, version, flexible);
    byVersion.set(k, plan);
  }
  return plan;
}

function compile(defs: readonly FieldDef[], version: number, flexible: boolean): Plan {
  const all: Plan['all'] = [];
  const fields: Op[] = [];
  const tagged: Op[] = [];
  for (const d of defs) {
    const op = compileField(d, version, flexible);
    all.push({ name: d.name, makeDefault: op.makeDefault });
    if (!inVersions(d.versions, version)) continue;
    if (d.tag !== undefined) {
      if (flexible) tagged.push(op);
    } else fields.push(op);
  }
  tagged.sort((a, b) => a.tag! - b.tag!);
  const minSize = fields.reduce((n, op) => n + minFieldSize(op, flexible), flexible ? 1 : 0);
  return { flexible, all, fields, tagged, byTag: new Map(tagged.map((o) => [o.tag!, o])), minSize };
}

function compileField(d: FieldDef, version: number, flexible: boolean): Op {
  const nullable = inVersions(d.nullable, version);
  const sub = d.fields ? planFor(d.fields, version, flexible) : undefined;
  let makeDefault: () => unknown;
  let isDefault: (v: unknown) => boolean;
  if (d.type === 'array') {
    makeDefault = () => [];
    isDefault = (v) => v === undefined || (Array.isArray(v) && v.length === 0);
  } else if (d.type === 'struct') {
    const s = sub!;
    makeDefault = () => defaults(s);
    isDefault = (v) =>
      v === undefined ||
      (v !== null &&
        [...s.fields, ...s.tagged].every((o) =>
          o.isDefault((v as Record<string, unknown>)[o.name]),
        ));
  } else {
    // A field that may be null defaults to null, as in Kafka's descriptions.
    const value = nullable && d.default === undefined ? null : primitiveDefault(d.type, d.default);
    makeDefault = () => value;
    isDefault = (v) =>
      v === undefined ||
      v === value ||
      (Buffer.isBuffer(v) && Buffer.isBuffer(value) && v.length === 0 && value.length === 0);
  }
  return {
    name: d.name,
    type: d.type,
    items: d.items,
    nullable,
    tag: d.tag,
    makeDefault,
    isDefault,
    sub,
  };
}

function defaults(plan: Plan): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const f of plan.all) o[f.name] = f.makeDefault();
  return o;
}

function minPrimitiveSize(type: Primitive, flexible: boolean): number {
  switch (type) {
    case 'int8':
    case 'bool':
      return 1;
    case 'int16':
      return 2;
    case 'int32':
      return 4;
    case 'int64':
      return 8;
    case 'uuid':
      return 16;
    case 'string':
      return flexible ? 1 : 2;
    default:
      return flexible ? 1 : 4;
  }
}

function minFieldSize(op: Op, flexible: boolean): number {
  if (op.type === 'array') return flexible ? 1 : 4;
  if (op.type === 'struct') return op.sub!.minSize;
  return minPrimitiveSize(op.type, flexible);
}

// ---- decoding ----

export function decodeStruct(plan: Plan, r: Reader): Record<string, unknown> {
  const o = defaults(plan);
  for (const op of plan.fields) o[op.name] = decodeField(op, plan.flexible, r);
  if (plan.flexible) decodeTagged(plan, r, o);
  return o;
}

function decodeTagged(plan: Plan, r: Reader, o: Record<string, unknown>): void {
  const n = r.uvarint();
  if (n > r.remaining) throw new KafkaProtocolError(`${n} tagged fields in ${r.remaining} bytes`);
  let last = -1;
  for (let i = 0; i < n; i++) {
    const tag = r.uvarint();
    if (tag <= last) throw new KafkaProtocolError(`tagged fields out of order (tag ${tag})`);
    last = tag;
    const size = r.uvarint();
    r.need(size, 'tagged field');
    const end = r.pos + size;
    const op = plan.byTag.get(tag);
    if (op) {
      const sub = new Reader(r.buf, r.pos, end);
      o[op.name] = decodeField(op, true, sub);
    }
    r.pos = end;
  }
}

/** A length or count: -1 (classic) or 0 (compact) is null. */
function readLength(r: Reader, flexible: boolean, wide: boolean): number {
  if (flexible) return r.uvarint() - 1;
  return wide ? r.int32() : r.int16();
}

function decodeField(op: Op, flexible: boolean, r: Reader): unknown {
  switch (op.type) {
    case 'struct':
      return decodeStruct(op.sub!, r);
    case 'array': {
      const n = readLength(r, flexible, true);
      if (n < 0) return nullOrFail(op, n);
      const each = Math.max(1, op.sub ? op.sub.minSize : minPrimitiveSize(op.items!, flexible));
      if (n * each > r.remaining)
        throw new KafkaProtocolError(
          `array ${op.name} claims ${n} elements, only ${r.remaining} bytes left`,
        );
      const out: unknown[] = [];
      for (let i = 0; i < n; i++)
        out.push(op.sub ? decodeStruct(op.sub, r) : decodePrimitive(op.items!, op, flexible, r));
      return out;
    }
    default:
      return decodePrimitive(op.type, op, flexible, r);
  }
}

function nullOrFail(op: Op, n: number): null {
  if (n !== -1) throw new KafkaProtocolError(`negative length ${n} for ${op.name}`);
  if (!op.nullable) throw new KafkaProtocolError(`${op.name} is null but may not be`);
  return null;
}

function decodePrimitive(type: Primitive, op: Op, flexible: boolean, r: Reader): unknown {
  switch (type) {
    case 'int8':
      return r.int8();
    case 'int16':
      return r.int16();
    case 'int32':
      return r.int32();
    case 'int64':
      return r.int64();
    case 'bool':
      return r.int8() !== 0;
    case 'uuid':
      return r
        .slice(16, 'uuid')
        .toString('hex')
        .replace(/^(.{8})(.{4})(.{4})(.{4})/, '$1-$2-$3-$4-');
    case 'string': {
      const n = readLength(r, flexible, false);
      return n < 0 ? nullOrFail(op, n) : r.utf8(n);
    }
    default: {
      const n = readLength(r, flexible, true);
      return n < 0 ? nullOrFail(op, n) : r.slice(n, op.name);
    }
  }
}

// ---- encoding ----

export function encodeStruct(plan: Plan, value: unknown, w: Writer): void {
  const o = (value ?? {}) as Record<string, unknown>;
  for (const op of plan.fields) encodeField(op, plan.flexible, o[op.name], w);
  if (!plan.flexible) return;
  const present = plan.tagged.filter((op) => !op.isDefault(o[op.name]));
  w.uvarint(present.length);
  for (const op of present) {
    const inner = new Writer();
    encodeField(op, true, o[op.name], inner);
    const chunks = inner.finish();
    w.uvarint(op.tag!);
    w.uvarint(chunks.reduce((n, c) => n + c.length, 0));
    for (const c of chunks) w.raw(c);
  }
}

function writeLength(w: Writer, flexible: boolean, wide: boolean, n: number): void {
  if (flexible) w.uvarint(n + 1);
  else if (wide) w.int32(n);
  else w.int16(n);
}

function encodeNull(op: Op, flexible: boolean, wide: boolean, w: Writer): void {
  if (!op.nullable) throw new KafkaProtocolError(`${op.name} may not be null in this version`);
  writeLength(w, flexible, wide, -1);
}

function encodeField(op: Op, flexible: boolean, v: unknown, w: Writer): void {
  const value = v === undefined ? op.makeDefault() : v;
  switch (op.type) {
    case 'struct':
      encodeStruct(op.sub!, value, w);
      return;
    case 'array': {
      if (value === null) {
        encodeNull(op, flexible, true, w);
        return;
      }
      const items = value as unknown[];
      writeLength(w, flexible, true, items.length);
      for (const item of items)
        if (op.sub) encodeStruct(op.sub, item, w);
        else encodePrimitive(op.items!, op, flexible, item, w);
      return;
    }
    default:
      encodePrimitive(op.type, op, flexible, value, w);
      return;
  }
}

function encodePrimitive(type: Primitive, op: Op, flexible: boolean, v: unknown, w: Writer): void {
  switch (type) {
    case 'int8':
      w.int8(v as number);
      return;
    case 'int16':
      w.int16(v as number);
      return;
    case 'int32':
      w.int32(v as number);
      return;
    case 'int64':
      w.int64(v as number);
      return;
    case 'bool':
      w.int8(v ? 1 : 0);
      return;
    case 'uuid': {
      const hex = String(v).replace(/-/g, '');
      if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new KafkaProtocolError(`${op.name}: not a uuid`);
      w.raw(Buffer.from(hex, 'hex'));
      return;
    }
    case 'string': {
      if (v === null) {
        encodeNull(op, flexible, false, w);
        return;
      }
      const s = v as string;
      const n = Buffer.byteLength(s, 'utf8');
      if (!flexible && n > 0x7fff)
        throw new KafkaProtocolError(`${op.name}: a string of ${n} bytes is too long`);
      writeLength(w, flexible, false, n);
      w.utf8(s, n);
      return;
    }
    default: {
      if (v === null) {
        encodeNull(op, flexible, true, w);
        return;
      }
      const b = v as Uint8Array;
      writeLength(w, flexible, true, b.length);
      w.raw(b);
      return;
    }
  }
}
