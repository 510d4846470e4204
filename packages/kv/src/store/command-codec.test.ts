import { InvalidRequestError } from '@strand/wire';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { KvCommand } from './command.js';
import {
  decodeKvCommand,
  encodeCommand,
  encodeKvCommand,
  encodeKvCommands,
  encodeKvEntry,
  UnsupportedFormatError,
} from './command-codec.js';

const bytes = fc.uint8Array({ maxLength: 40 }).map((u) => Buffer.from(u));
const opt = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
const uint = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const posint = fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER });
const put = fc.record(
  {
    t: fc.constant('put' as const),
    key: bytes,
    value: bytes,
    lease: opt(uint),
    prevKv: opt(fc.boolean()),
  },
  { requiredKeys: ['t', 'key', 'value'] },
);
const del = fc.record(
  { t: fc.constant('del' as const), key: bytes, end: opt(bytes), prevKv: opt(fc.boolean()) },
  { requiredKeys: ['t', 'key'] },
);
const get = fc.record(
  { t: fc.constant('get' as const), key: bytes, end: opt(bytes), limit: opt(uint) },
  { requiredKeys: ['t', 'key'] },
);
const op = fc.oneof(put, del, get);
const result = fc.constantFrom('=', '!=', '<', '>' as const);
const compare = fc.oneof(
  fc.record({
    key: bytes,
    target: fc.constantFrom('version', 'create', 'mod' as const),
    result,
    value: fc.integer({ min: -(2 ** 51), max: 2 ** 51 }),
  }),
  fc.record({ key: bytes, target: fc.constant('value' as const), result, value: bytes }),
);
const command: fc.Arbitrary<KvCommand> = fc.oneof(
  op,
  fc.record({
    t: fc.constant('txn' as const),
    compare: fc.array(compare, { maxLength: 3 }),
    success: fc.array(op, { maxLength: 3 }),
    failure: fc.array(op, { maxLength: 3 }),
  }),
  fc.record(
    {
      t: fc.constant('leaseGrant' as const),
      id: posint,
      ttlMs: posint,
      owner: opt(fc.string({ maxLength: 512 })),
    },
    { requiredKeys: ['t', 'id', 'ttlMs'] },
  ),
  fc.record({ t: fc.constant('leaseRevoke' as const), id: posint }),
  fc.record({ t: fc.constant('compact' as const), revision: uint }),
  fc.record({ t: fc.constant('format' as const), version: fc.nat(5) }),
  fc.record({
    t: fc.constant('rows' as const),
    ops: fc.array(
      fc.oneof(
        fc.record({ t: fc.constant('put' as const), key: bytes, value: bytes }),
        fc.record(
          { t: fc.constant('del' as const), key: bytes, end: opt(bytes) },
          { requiredKeys: ['t', 'key'] },
        ),
      ),
      { maxLength: 4 },
    ),
  }),
) as fc.Arbitrary<KvCommand>;
/** The oldest entry format that can hold every command of `list`. */
const formatOf = (list: { command: KvCommand }[]) =>
  list.some((x) => x.command.t === 'rows') ? 2 : 0;
const batch = fc.array(fc.record({ requestId: fc.string(), command }), {
  minLength: 1,
  maxLength: 5,
});

/** Absent optionals are left out of a decoded command, as zod left them out. */
function withoutUndefined(v: unknown): unknown {
  if (Buffer.isBuffer(v)) return v;
  if (Array.isArray(v)) return v.map(withoutUndefined);
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.entries(v)
        .filter(([, x]) => x !== undefined)
        .map(([k, x]) => [k, withoutUndefined(x)]),
    );
  return v;
}

/**
 * Decodes `data` or throws a typed error; what it decodes is a command the edge would have
 * taken (it encodes again to the same), and zod, which checks version 0, takes it too.
 */
function decodesOrTypedError(data: Uint8Array): void {
  let decoded: ReturnType<typeof decodeKvCommand>;
  try {
    decoded = decodeKvCommand(data);
  } catch (err) {
    if (!(err instanceof InvalidRequestError) && !(err instanceof UnsupportedFormatError))
      throw err;
    return;
  }
  expect(decoded.length).toBeGreaterThan(0);
  const again = decodeKvCommand(encodeKvCommands(decoded));
  expect(again).toEqual(decoded);
  for (let version = formatOf(decoded); version < 2; version++)
    expect(decodeKvCommand(encodeKvCommands(decoded, version))).toEqual(decoded);
}

describe('KV command codec (entry format versions 0 to 2)', () => {
  it('round-trips every command, in each version that has it (rows: 2 on), and refuses it in an older one', () => {
    fc.assert(
      fc.property(batch, (list) => {
        for (const version of [2, 1, 0]) {
          if (version < formatOf(list)) {
            expect(() => encodeKvCommands(list, version)).toThrow(
              /a rows command needs entry format 2/,
            );
            continue;
          }
          const data = encodeKvCommands(list, version);
          expect(data[0]).toBe(version > 0 ? version : '{'.charCodeAt(0));
          const decoded = decodeKvCommand(data);
          expect(decoded).toEqual(withoutUndefined(list));
          for (const { command } of decoded)
            expect(Object.values(command)).not.toContain(undefined);
        }
      }),
    );
  });

  it('never throws an untyped error: random bytes, and valid entries truncated or with a byte changed', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 100 }), decodesOrTypedError));
    for (const version of [1, 2])
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 100 }), (u) =>
          decodesOrTypedError(Buffer.from([version, ...u])),
        ),
      );
    // A rows command's body, random after its tag (8), in a one-command entry of version 2.
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 60 }), (u) =>
        decodesOrTypedError(Buffer.from([2, 1, 1, 0x72, u.length + 1, 8, ...u])),
      ),
    );
    fc.assert(
      fc.property(batch, fc.nat(), fc.integer({ min: 0, max: 255 }), (list, at, byte) => {
        const data = Buffer.from(encodeKvCommands(list));
        decodesOrTypedError(data.subarray(0, at % data.length));
        data[at % data.length] = byte;
        decodesOrTypedError(data);
      }),
    );
    // Several changes at once: bytes replaced, inserted, removed.
    const edit = fc.record({ at: fc.nat(), byte: fc.nat(255), kind: fc.nat(2) });
    fc.assert(
      fc.property(batch, fc.array(edit, { minLength: 1, maxLength: 6 }), (list, edits) => {
        const data = [...encodeKvCommands(list)];
        for (const { at, byte, kind } of edits) {
          const i = at % (data.length + 1);
          if (kind === 0) data[i % data.length] = byte;
          else if (kind === 1) data.splice(i, 0, byte);
          else data.splice(i, 1);
        }
        decodesOrTypedError(Buffer.from(data));
      }),
      { numRuns: 500 },
    );
  });

  it('refuses a varint past 2^53, a list longer than its input, a bad presence byte', () => {
    const entry = (...body: number[]) => Buffer.from([1, 1, 1, 0x72, body.length, ...body]); // one command, request id "r"
    const cases: [Buffer, RegExp][] = [
      [entry(6, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f), /out of range/], // compact
      [entry(6, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01), /too long/],
      [entry(3, 0x7f), /list of 127/], // a txn claiming 127 compares
      [entry(0, 0, 0, 2), /presence byte 2/], // a put with empty key and value
      [entry(9), /unknown command tag 9/],
      [Buffer.from([1, 0]), /holds 0 commands/],
      [Buffer.concat([entry(6, 0), Buffer.from([0])]), /1 bytes after the last command/],
    ];
    for (const [data, message] of cases) {
      expect(() => decodeKvCommand(data)).toThrow(InvalidRequestError);
      expect(() => decodeKvCommand(data)).toThrow(message);
    }
  });

  it('refuses a malformed command when it is encoded (the edge), naming the field', () => {
    const bad: unknown[] = [
      { t: 'put', key: 'not bytes', value: Buffer.from('v') },
      { t: 'put', key: Buffer.from('k'), value: Buffer.from('v'), lease: -1 },
      { t: 'leaseGrant', id: 0, ttlMs: 10 },
      { t: 'leaseGrant', id: 1.5, ttlMs: 10 },
      { t: 'frobnicate' },
      {
        t: 'txn',
        compare: [{ key: Buffer.from('k'), target: 'size', result: '=', value: 1 }],
        success: [],
        failure: [],
      },
      { t: 'txn', compare: [], success: [{ t: 'txn' }], failure: [] },
      { t: 'leaseGrant', id: 1, ttlMs: 10, frob: 'a field the table lacks' },
      { t: 'leaseGrant', id: 1, ttlMs: 10, owner: 'x'.repeat(513) },
      {
        t: 'txn',
        compare: [
          { key: Buffer.from('k'), target: 'version', result: '=', value: Buffer.from('1') },
        ],
        success: [],
        failure: [],
      },
      {
        t: 'txn',
        compare: [{ key: Buffer.from('k'), target: 'value', result: '=', value: 1 }],
        success: [],
        failure: [],
      },
    ];
    for (const cmd of bad)
      expect(() => encodeCommand(cmd as KvCommand)).toThrow(InvalidRequestError);
    expect(() => encodeCommand(bad[1] as KvCommand)).toThrow(
      /command\.lease must be an integer >= 0/,
    );
  });

  it('refuses an unknown format version by name, and reads version 0 (JSON)', () => {
    expect(() => decodeKvCommand(Buffer.from([7, 1]))).toThrow(UnsupportedFormatError);
    expect(() => decodeKvCommand(Buffer.from([7, 1]))).toThrow(/format version 7 is unknown/);
    // A node started to read only 0 refuses 1 the same way, saying why.
    const v1 = encodeKvCommand({ t: 'compact', revision: 1 }, 'r', 1);
    expect(() => decodeKvCommand(v1, 0)).toThrow(UnsupportedFormatError);
    expect(() => decodeKvCommand(v1, 0)).toThrow(
      /version 1 is past what this node was started to read \(up to 0\)/,
    );
    expect(decodeKvCommand(encodeKvCommand({ t: 'compact', revision: 1 }, 'r', 0), 0)).toHaveLength(
      1,
    );
    expect(() => encodeKvCommand({ t: 'compact', revision: 1 }, 'r', 3)).toThrow(
      UnsupportedFormatError,
    );
    // A node that reads 1 stops at an entry of 2, naming it.
    const v2 = encodeKvCommand({ t: 'rows', ops: [] }, 'r');
    expect(v2[0]).toBe(2);
    expect(() => decodeKvCommand(v2, 1)).toThrow(
      /version 2 is past what this node was started to read \(up to 1\)/,
    );
    // A rows command in an entry of 0 or 1 is a damaged entry: no release writes it there.
    const json = (c: unknown) => Buffer.from(JSON.stringify({ b: [{ r: 'r', c }] }));
    expect(() => decodeKvCommand(json({ t: 'rows', ops: [] }))).toThrow(
      /a rows command needs entry format 2, not 0/,
    );
    const text = '{"b":[{"r":"r1","c":{"t":"put","key":"aw==","value":"dg==","lease":3}}]}';
    const cmd = { t: 'put', key: Buffer.from('k'), value: Buffer.from('v'), lease: 3 } as const;
    expect(decodeKvCommand(Buffer.from(text))).toEqual([{ requestId: 'r1', command: cmd }]);
    expect(decodeKvCommand(encodeKvCommand(cmd, 'r1'))).toEqual([
      { requestId: 'r1', command: cmd },
    ]);
    expect(() => decodeKvCommand(Buffer.from('{"b":[{"r":"x","c":{"t":"put"}}]}'))).toThrow(
      InvalidRequestError,
    );
  });

  it('reads a command written before an optional field was appended to its table as lacking it', () => {
    // A put as a writer without `prevKv` in its table would lay it out: key, value, lease.
    const full = encodeCommand({
      t: 'put',
      key: Buffer.from('k'),
      value: Buffer.from('v'),
      lease: 2,
    });
    const older = full.subarray(0, full.length - 1); // drop the absent-prevKv presence byte
    const [item] = decodeKvCommand(
      encodeKvEntry(
        [{ requestId: 'r', command: { t: 'compact', revision: 0 }, encoded: older }],
        1,
      ),
    );
    expect(item?.command).toEqual({
      t: 'put',
      key: Buffer.from('k'),
      value: Buffer.from('v'),
      lease: 2,
    });
  });
});
