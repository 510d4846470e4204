import fc from 'fast-check';
import { planFor } from './message.js';
import type { FieldDef, Primitive } from './schema.js';

type Plan = ReturnType<typeof planFor>;
type Op = Plan['fields'][number];

const INT: Record<string, [number, number]> = {
  int8: [-128, 127],
  int16: [-32768, 32767],
  int32: [-(2 ** 31), 2 ** 31 - 1],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

function primitive(type: Primitive): fc.Arbitrary<unknown> {
  const range = INT[type];
  if (range) return fc.integer({ min: range[0], max: range[1] });
  switch (type) {
    case 'bool':
      return fc.boolean();
    case 'string':
      return fc.string({ unit: 'grapheme', maxLength: 12 });
    case 'uuid':
      return fc.uuid();
    default:
      return fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b));
  }
}

function field(op: Op): fc.Arbitrary<unknown> {
  let a: fc.Arbitrary<unknown>;
  if (op.type === 'struct') a = message(op.sub!);
  else if (op.type === 'array')
    a = fc.array(op.sub ? message(op.sub) : primitive(op.items!), { maxLength: 3 });
  else a = primitive(op.type);
  return op.nullable ? fc.option(a, { nil: null, freq: 4 }) : a;
}

function message(plan: Plan): fc.Arbitrary<Record<string, unknown>> {
  const present = [...plan.fields, ...plan.tagged];
  const record: Record<string, fc.Arbitrary<unknown>> = {};
  for (const op of present) record[op.name] = field(op);
  return fc.record(record).map((values) => {
    // Fields absent in this version decode to their defaults.
    const o: Record<string, unknown> = {};
    for (const f of plan.all) o[f.name] = f.makeDefault();
    return Object.assign(o, values);
  });
}

/** Random messages of `defs` at `version`, as the decoder returns them (defaults included). */
export function arbitraryMessage(
  defs: readonly FieldDef[],
  version: number,
  flexible: boolean,
): fc.Arbitrary<Record<string, unknown>> {
  return message(planFor(defs, version, flexible));
}
