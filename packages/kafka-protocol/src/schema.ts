/**
 * The language every API description is written in: a message is a list of fields, each with
 * a type, the versions it exists in (Kafka's notation: '3+', '0-4', '5'), the versions in which
 * it may be null, and a tag when it travels in the tagged-field section of flexible versions.
 * The TypeScript type of a decoded message follows from its description.
 */

export type Primitive =
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'bool'
  | 'string'
  | 'bytes'
  | 'uuid'
  | 'records';

export type FieldType = Primitive | 'struct' | 'array';

export type DefaultValue = number | boolean | string;

export interface FieldDef {
  readonly name: string;
  readonly type: FieldType;
  /** Elements of an array of primitives. */
  readonly items?: Primitive;
  /** Fields of a struct, or of each element of an array of structs. */
  readonly fields?: readonly FieldDef[];
  readonly versions: string;
  readonly nullable?: string;
  /** Set for a tagged field (it exists in flexible versions only). */
  readonly tag?: number;
  /** The value of the field where it is absent, and what a tagged field is omitted at. */
  readonly default?: DefaultValue;
}

/** A field whose decoded value has type T (`__value` exists only for the type checker). */
export interface Field<N extends string = string, T = unknown> extends FieldDef {
  readonly name: N;
  readonly __value?: T;
}

export interface FieldOptions {
  readonly nullable?: string;
  readonly tag?: number;
  readonly default?: DefaultValue;
}

type Maybe<O, T> = O extends { nullable: string } ? T | null : T;

/** A message's decoded form: one property per field (absent ones hold their default). */
export type StructOf<Fs extends readonly FieldDef[]> = {
  -readonly [F in Fs[number] as F['name']]: F extends Field<string, infer T> ? T : never;
};

interface PrimitiveValue {
  int8: number;
  int16: number;
  int32: number;
  int64: number;
  bool: boolean;
  string: string;
  bytes: Buffer;
  /** 36 characters, as crypto.randomUUID() prints them. */
  uuid: string;
  /** Zero or more RecordBatches, never decoded here. */
  records: Buffer;
}

const primitive =
  <P extends Primitive>(type: P) =>
  <N extends string, const O extends FieldOptions = object>(
    name: N,
    versions: string,
    opts?: O,
  ): Field<N, Maybe<O, PrimitiveValue[P]>> => ({ name, type, versions, ...opts });

export const i8 = primitive('int8');
export const i16 = primitive('int16');
export const i32 = primitive('int32');
export const i64 = primitive('int64');
export const bool = primitive('bool');
export const str = primitive('string');
export const bytes = primitive('bytes');
export const uuid = primitive('uuid');
export const records = primitive('records');

/** An array of structs. */
export const arr = <
  N extends string,
  const Fs extends readonly FieldDef[],
  const O extends FieldOptions = object,
>(
  name: N,
  versions: string,
  fields: Fs,
  opts?: O,
): Field<N, Maybe<O, StructOf<Fs>[]>> => ({ name, type: 'array', versions, fields, ...opts });

/** An array of primitives. */
export const list = <N extends string, P extends Primitive, const O extends FieldOptions = object>(
  name: N,
  versions: string,
  items: P,
  opts?: O,
): Field<N, Maybe<O, PrimitiveValue[P][]>> => ({ name, type: 'array', versions, items, ...opts });

export const struct = <
  N extends string,
  const Fs extends readonly FieldDef[],
  const O extends FieldOptions = object,
>(
  name: N,
  versions: string,
  fields: Fs,
  opts?: O,
): Field<N, Maybe<O, StructOf<Fs>>> => ({ name, type: 'struct', versions, fields, ...opts });

/** What an encoder accepts: any field may be left out (it is then written as its default). */
export type Input<T> = T extends Buffer | string | number | boolean | null | undefined
  ? T
  : T extends readonly (infer E)[]
    ? readonly Input<E>[]
    : { [K in keyof T]?: Input<T[K]> };

export interface ApiDef<Req = unknown, Res = unknown> {
  readonly key: number;
  readonly name: string;
  /** The versions described here (and so the most a broker can advertise). */
  readonly minVersion: number;
  readonly maxVersion: number;
  /** The first flexible version (Infinity: none). */
  readonly firstFlexible: number;
  readonly request: readonly FieldDef[];
  readonly response: readonly FieldDef[];
  readonly __types?: { request: Req; response: Res };
}

export type RequestOf<A> = A extends ApiDef<infer Req, unknown> ? Req : never;
export type ResponseOf<A> = A extends ApiDef<unknown, infer Res> ? Res : never;

export function api<const Rq extends readonly FieldDef[], const Rs extends readonly FieldDef[]>(d: {
  key: number;
  name: string;
  versions: string;
  flexible: string;
  request: Rq;
  response: Rs;
}): ApiDef<StructOf<Rq>, StructOf<Rs>> {
  const [minVersion, maxVersion] = parseVersions(d.versions);
  return {
    key: d.key,
    name: d.name,
    minVersion,
    maxVersion,
    firstFlexible: parseVersions(d.flexible)[0],
    request: d.request,
    response: d.response,
  };
}

/** '3+' → [3, Infinity], '0-4' → [0, 4], '5' → [5, 5], 'none' → an empty range. */
export function parseVersions(v: string): [number, number] {
  if (v === 'none') return [Infinity, -Infinity];
  const m = /^(\d+)(\+|-(\d+))?$/.exec(v);
  if (!m) throw new Error(`bad version range "${v}"`);
  const lo = Number(m[1]);
  if (m[2] === '+') return [lo, Infinity];
  return [lo, m[3] === undefined ? lo : Number(m[3])];
}

export function inVersions(range: string | undefined, version: number): boolean {
  if (range === undefined) return false;
  const [lo, hi] = parseVersions(range);
  return version >= lo && version <= hi;
}
