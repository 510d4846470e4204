import { ErrorCode, InvalidRequestError, StrandError } from '@strand/wire';
import { type Field, Reader, read, type Type, Writer, write } from './binary.js';
import { commandFormat, decodeJsonEntry, encodeJsonEntry, type KvCommand } from './command.js';

/**
 * The Raft entry format of KV commands. An entry's first byte names its format version:
 *  - `{` (0x7b): version 0, the JSON envelope `{"b":[{"r","c"}]}` with base64 bytes, written
 *    by Strand before the binary format; still read (and validated by zod) so old logs open;
 *  - 0x01: version 1, binary: a varint count, then per command its request id and the command
 *    (varint length, then the command as laid out by the tables below). A field appended
 *    (optional) to the end of a command's table keeps version 1: entries written before it
 *    end early and read as "absent". Any other change to the tables is a new version.
 *  - 0x02: version 2, the layout of 1 with one more command, `rows` (unversioned rows). A
 *    release that reads only 1 stops at such an entry, naming it, instead of skipping an
 *    offset commit it cannot read; the cluster writes 2 only once every member reads it.
 * Any other first byte is a format this build does not know: applying it would silently
 * diverge from the replicas that do, so it is refused (UnsupportedFormatError).
 */
export const ENTRY_VERSION = 2;
const JSON_FIRST_BYTE = 0x7b;

/** Commands per entry (as the JSON envelope allowed). */
const MAX_COMMANDS = 10_000;

const put: Field[] = [
  { name: 'key', type: 'bytes' },
  { name: 'value', type: 'bytes' },
  { name: 'lease', type: 'uint', optional: true },
  { name: 'prevKv', type: 'bool', optional: true },
];
const del: Field[] = [
  { name: 'key', type: 'bytes' },
  { name: 'end', type: 'bytes', optional: true },
  { name: 'prevKv', type: 'bool', optional: true },
];
const get: Field[] = [
  { name: 'key', type: 'bytes' },
  { name: 'end', type: 'bytes', optional: true },
  { name: 'limit', type: 'uint', optional: true },
];
const compare: Type = {
  struct: [
    { name: 'key', type: 'bytes' },
    { name: 'target', type: { enum: ['version', 'create', 'mod', 'value'] } },
    { name: 'result', type: { enum: ['=', '!=', '<', '>'] } },
    { name: 'value', type: { either: ['int', 'bytes'] } },
  ],
};
const op: Type = { union: { put, del, get } };
const rowOp: Type = {
  union: {
    put: [
      { name: 'key', type: 'bytes' },
      { name: 'value', type: 'bytes' },
    ],
    del: [
      { name: 'key', type: 'bytes' },
      { name: 'end', type: 'bytes', optional: true },
    ],
  },
};
const LIST = 1_000_000;

/** Tags and fields are positions: append new commands and fields at the end, never reorder. */
export const commandType: Type = {
  union: {
    put,
    del,
    get,
    txn: [
      { name: 'compare', type: { list: compare, max: LIST } },
      { name: 'success', type: { list: op, max: LIST } },
      { name: 'failure', type: { list: op, max: LIST } },
    ],
    leaseGrant: [
      { name: 'id', type: 'posint' },
      { name: 'ttlMs', type: 'posint' },
      { name: 'owner', type: { string: { max: 512 } }, optional: true },
    ],
    leaseRevoke: [{ name: 'id', type: 'posint' }],
    compact: [{ name: 'revision', type: 'uint' }],
    format: [{ name: 'version', type: 'uint' }],
    rows: [{ name: 'ops', type: { list: rowOp, max: LIST } }],
  },
};

/** A command in the version-1 layout; throws InvalidRequestError when it does not fit. */
export function encodeCommand(cmd: KvCommand): Buffer {
  const w = new Writer();
  write(w, commandType, cmd, 'command');
  if (cmd.t === 'txn') for (const c of cmd.compare) checkCompare(c);
  return w.finish();
}

/** What the table cannot say: a numeric target compares with a number, `value` with bytes. */
function checkCompare(c: { target: string; value: unknown }): void {
  if ((c.target === 'value') !== Buffer.isBuffer(c.value))
    throw invalid(
      `a compare on ${c.target} needs ${c.target === 'value' ? 'bytes' : 'a number'} to compare with`,
    );
}

/** A command queued for an entry: validated (and laid out as version 1) when proposed. */
export interface EncodedCommand {
  requestId: string;
  command: KvCommand;
  /** `encodeCommand(command)`. */
  encoded: Uint8Array;
}

/**
 * One Raft entry from commands already checked by `encodeCommand`, in format `version`: 1
 * once the cluster has activated it, 0 (JSON) before (see entry-format.ts).
 */
export function encodeKvEntry(items: readonly EncodedCommand[], version: number): Buffer {
  if (version < 0 || version > ENTRY_VERSION) throw new UnsupportedFormatError(version);
  for (const { command } of items) checkFormat(command, version);
  if (version === 0) return encodeJsonEntry(items);
  const w = new Writer();
  w.u8(version);
  w.varint(items.length);
  for (const { requestId, encoded } of items) {
    write(w, 'string', requestId, 'requestId');
    w.varint(encoded.length);
    w.raw(encoded);
  }
  return w.finish();
}

/** One entry holding `list` (validated and encoded here). */
export function encodeKvCommands(
  list: readonly { command: KvCommand; requestId: string }[],
  version = ENTRY_VERSION,
): Buffer {
  return encodeKvEntry(
    list.map((x) => ({ ...x, encoded: encodeCommand(x.command) })),
    version,
  );
}

/** One entry holding one command. */
export function encodeKvCommand(
  command: KvCommand,
  requestId: string,
  version = ENTRY_VERSION,
): Buffer {
  return encodeKvCommands([{ command, requestId }], version);
}

/** An entry whose format version this build does not know. */
export class UnsupportedFormatError extends StrandError {
  constructor(
    readonly version: number,
    readonly readable = ENTRY_VERSION,
  ) {
    super(
      ErrorCode.Internal,
      readable < ENTRY_VERSION
        ? `KV command format version ${version} is past what this node was started to read (up to ${readable}): start it without its KV format limit`
        : `KV command format version ${version} is unknown to this Strand (it reads 0 = JSON, 1 and 2 = binary); upgrade this node to a release that writes it`,
    );
  }
}

/**
 * The commands of one entry, any known version. Throws InvalidRequestError for a damaged entry
 * of a known version, UnsupportedFormatError for an unknown version.
 */
export function decodeKvCommand(
  data: Uint8Array,
  maxVersion = ENTRY_VERSION,
): { requestId: string; command: KvCommand }[] {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.length);
  const first = buf[0] ?? 0;
  if (first === JSON_FIRST_BYTE) {
    const list = decodeJsonEntry(buf);
    for (const { command } of list) checkFormat(command, 0);
    return list;
  }
  if (first < 1 || first > ENTRY_VERSION || first > maxVersion)
    throw new UnsupportedFormatError(first, maxVersion);
  const r = new Reader(buf);
  r.u8();
  const n = r.varint();
  if (n < 1 || n > MAX_COMMANDS || n > r.remaining) throw invalid(`entry holds ${n} commands`);
  const out: { requestId: string; command: KvCommand }[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const requestId = read(r, 'string') as string;
    // The tables above are the schema (and checkCompare what they cannot say): what they
    // read is a command the edge would have taken.
    const body = r.sub(r.varint());
    const command = read(body, commandType, true) as KvCommand;
    if (body.remaining !== 0) throw invalid(`${body.remaining} bytes after command ${i}`);
    if (command.t === 'txn') for (const c of command.compare) checkCompare(c);
    checkFormat(command, first);
    out[i] = { requestId, command };
  }
  if (r.remaining !== 0) throw invalid(`${r.remaining} bytes after the last command`);
  return out;
}

/** A command kind newer than the entry's format (see SINCE_FORMAT in command.ts). */
function checkFormat(cmd: KvCommand, version: number): void {
  const since = commandFormat(cmd.t);
  if (since > version)
    throw invalid(`a ${cmd.t} command needs entry format ${since}, not ${version}`);
}

function invalid(message: string): InvalidRequestError {
  return new InvalidRequestError(`invalid command: ${message}`);
}
