import { InvalidRequestError } from '@strand/wire';
import { type Entry, EntryType, type Message, MessageType, type Snapshot } from './types.js';

/** Grows as needed; numbers as float64 (exact for safe integers), lengths as u32. */
class Writer {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  pos = 0;

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(v: number): void {
    this.ensure(1);
    this.view.setUint8(this.pos, v);
    this.pos += 1;
  }
  u32(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.pos, v);
    this.pos += 4;
  }
  num(v: number): void {
    this.ensure(8);
    this.view.setFloat64(this.pos, v);
    this.pos += 8;
  }
  bytes(b: Uint8Array): void {
    this.u32(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  done(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

class Reader {
  private readonly view: DataView;
  pos = 0;
  constructor(private readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new InvalidRequestError('raft message truncated');
  }
  u8(): number {
    this.need(1);
    return this.view.getUint8(this.pos++);
  }
  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }
  /** A non-negative safe integer. */
  num(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos);
    this.pos += 8;
    if (!Number.isSafeInteger(v) || v < 0)
      throw new InvalidRequestError(`bad number ${v} in raft message`);
    return v;
  }
  bytes(): Uint8Array {
    const len = this.u32();
    this.need(len);
    const out = this.buf.slice(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }
  /** A count of items each at least `minBytes` long (bounded by what is left). */
  count(minBytes: number): number {
    const n = this.u32();
    if (n * minBytes > this.buf.length - this.pos)
      throw new InvalidRequestError('raft message count too large');
    return n;
  }
  end(): void {
    if (this.pos !== this.buf.length)
      throw new InvalidRequestError('trailing bytes in raft message');
  }
}

function writeEntry(w: Writer, e: Entry): void {
  w.num(e.term);
  w.num(e.index);
  w.u8(e.type);
  w.bytes(e.data);
}

function readEntry(r: Reader): Entry {
  const term = r.num();
  const index = r.num();
  const type = r.u8();
  if (type !== EntryType.Normal && type !== EntryType.ConfChange)
    throw new InvalidRequestError(`bad entry type ${type}`);
  return { term, index, type, data: r.bytes() };
}

function writeSnapshot(w: Writer, s: Snapshot): void {
  w.num(s.metadata.index);
  w.num(s.metadata.term);
  w.u32(s.metadata.confState.voters.length);
  for (const v of s.metadata.confState.voters) w.num(v);
  w.u32(s.metadata.confState.learners.length);
  for (const v of s.metadata.confState.learners) w.num(v);
  w.bytes(s.data);
}

function readSnapshot(r: Reader): Snapshot {
  const index = r.num();
  const term = r.num();
  const voters = Array.from({ length: r.count(8) }, () => r.num());
  const learners = Array.from({ length: r.count(8) }, () => r.num());
  return { metadata: { index, term, confState: { voters, learners } }, data: r.bytes() };
}

const MESSAGE_TYPES = new Set<number>(Object.values(MessageType));

export function encodeMessage(m: Message): Uint8Array {
  const w = new Writer();
  w.u8(m.type);
  for (const v of [m.from, m.to, m.term, m.logTerm, m.index, m.commit, m.rejectHint]) w.num(v);
  w.u8((m.reject ? 1 : 0) | (m.snapshot ? 2 : 0) | (m.context ? 4 : 0));
  w.u32(m.entries.length);
  for (const e of m.entries) writeEntry(w, e);
  if (m.context) w.bytes(m.context);
  if (m.snapshot) writeSnapshot(w, m.snapshot);
  return w.done();
}

/** Decodes and validates a message; garbage gives InvalidRequestError, never a crash. */
export function decodeMessage(bytes: Uint8Array): Message {
  const r = new Reader(bytes);
  const type = r.u8();
  if (!MESSAGE_TYPES.has(type)) throw new InvalidRequestError(`unknown raft message type ${type}`);
  const [from, to, term, logTerm, index, commit, rejectHint] = Array.from({ length: 7 }, () =>
    r.num(),
  ) as [number, number, number, number, number, number, number];
  const flags = r.u8();
  const entries = Array.from({ length: r.count(21) }, () => readEntry(r));
  const m: Message = {
    type: type as MessageType,
    from,
    to,
    term,
    logTerm,
    index,
    commit,
    rejectHint,
    reject: (flags & 1) !== 0,
    entries,
  };
  if (flags & 4) m.context = r.bytes();
  if (flags & 2) m.snapshot = readSnapshot(r);
  r.end();
  return m;
}

export function encodeEntries(entries: Entry[]): Uint8Array {
  const w = new Writer();
  w.u32(entries.length);
  for (const e of entries) writeEntry(w, e);
  return w.done();
}

export function decodeEntries(bytes: Uint8Array): Entry[] {
  const r = new Reader(bytes);
  const out = Array.from({ length: r.count(21) }, () => readEntry(r));
  r.end();
  return out;
}

export function encodeEntry(e: Entry): Uint8Array {
  const w = new Writer();
  writeEntry(w, e);
  return w.done();
}

export function decodeEntry(bytes: Uint8Array): Entry {
  const r = new Reader(bytes);
  const e = readEntry(r);
  r.end();
  return e;
}

export function encodeSnapshot(s: Snapshot): Uint8Array {
  const w = new Writer();
  writeSnapshot(w, s);
  return w.done();
}

export function decodeSnapshot(bytes: Uint8Array): Snapshot {
  const r = new Reader(bytes);
  const s = readSnapshot(r);
  r.end();
  return s;
}
