import { describe, expect, it } from 'vitest';
import { CorruptSnapshotError } from '../errors/errors.js';
import { readSnapshotFile, SnapshotFileReader, snapshotFileChunks } from './snapshot-file.js';

const header = {
  index: 42,
  term: 3,
  revision: 17,
  clusterId: 'c-1',
  members: [{ id: 1, address: '127.0.0.1:2379' }],
  createdAt: 1_700_000_000_000,
};
const body = Buffer.from(JSON.stringify({ keys: Array.from({ length: 50 }, (_, i) => `k${i}`) }));
const file = Buffer.concat([...snapshotFileChunks(header, body, 64)]);

describe('snapshot files', () => {
  it('round-trips, fed whole or a few bytes at a time', () => {
    expect(readSnapshotFile(file)).toEqual({
      header: { ...header, bodyBytes: body.length },
      body,
      fileBytes: file.length,
    });
    for (const step of [1, 7, 33, 1000]) {
      const r = new SnapshotFileReader({ keepBody: true });
      for (let at = 0; at < file.length; at += step) r.push(file.subarray(at, at + step));
      expect(r.end().body.equals(body)).toBe(true);
    }
    const dropped = new SnapshotFileReader({ keepBody: false });
    dropped.push(file);
    expect(dropped.end().body.length).toBe(0);
  });

  it('refuses every changed byte and every cut, with a clear error', () => {
    for (let at = 0; at < file.length; at++) {
      const bad = Buffer.from(file);
      bad[at] = bad[at]! ^ 0x5a;
      expect(() => readSnapshotFile(bad), `byte ${at}`).toThrow(CorruptSnapshotError);
    }
    for (let len = 0; len < file.length; len++)
      expect(() => readSnapshotFile(file.subarray(0, len)), `length ${len}`).toThrow(
        CorruptSnapshotError,
      );
    expect(() => readSnapshotFile(Buffer.concat([file, Buffer.from([0])]))).toThrow(
      /truncated or padded|SHA-256/,
    );
    const body0 = file.indexOf(body.subarray(0, 8));
    const flipped = Buffer.from(file);
    flipped[body0 + 3] = flipped[body0 + 3]! ^ 1;
    expect(() => readSnapshotFile(flipped)).toThrow(/SHA-256 does not match/);
    expect(() =>
      readSnapshotFile(Buffer.from('hello world, not a snapshot at all '.repeat(3))),
    ).toThrow(/not a Strand KV snapshot/);
  });

  it('names a newer format version', () => {
    const newer = Buffer.from(file);
    newer.writeUInt32BE(2, 8);
    expect(() => readSnapshotFile(newer)).toThrow(
      /format 2 is newer than this release reads \(1\)/,
    );
  });
});
