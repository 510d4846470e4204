import { describe, expect, it } from 'vitest';
import { ApiVersions, Fetch, Metadata } from './apis/index.js';
import {
  decodeRequest,
  decodeRequestHeader,
  decodeResponse,
  encodeRequest,
  encodeResponse,
} from './frame.js';
import { concat } from './io.js';

/**
 * The flexible encoding, byte by byte as the protocol's message formats lay it out (KafkaJS,
 * the other oracle, never sends a flexible version): compact strings and arrays, tagged
 * fields, request header v2 and ApiVersions' response header without tagged fields.
 */

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const text = (s: string) => Buffer.from(s).toString('hex');

describe('flexible versions', () => {
  it('ApiVersions v3 request: header v2 keeps the int16 client id, then tagged fields', () => {
    const wire = hex(`
      0012 0003 00000007 0007 ${text('rdkafka')} 00
      0b ${text('librdkafka')} 06 ${text('2.0.2')} 00`);
    const { header, bodyOffset } = decodeRequestHeader(wire);
    expect(header).toEqual({ apiKey: 18, apiVersion: 3, correlationId: 7, clientId: 'rdkafka' });
    expect(decodeRequest(ApiVersions, 3, wire, bodyOffset!)).toEqual({
      clientSoftwareName: 'librdkafka',
      clientSoftwareVersion: '2.0.2',
    });
    const sized = encodeRequest(ApiVersions, 3, header, {
      clientSoftwareName: 'librdkafka',
      clientSoftwareVersion: '2.0.2',
    });
    expect(sized.subarray(4).toString('hex')).toBe(wire.toString('hex'));
  });

  it('ApiVersions v3 response: no tagged fields in the header, compact array in the body', () => {
    const bytes = concat(
      encodeResponse(ApiVersions, 3, 7, {
        apiKeys: [{ apiKey: 3, minVersion: 0, maxVersion: 12 }],
      }),
    );
    expect(bytes.toString('hex')).toBe(
      hex(`00000013 00000007 0000 02 0003 0000 000c 00 00000000 00`).toString('hex'),
    );
  });

  it('Metadata v9 request: a compact nullable array, and null for every topic', () => {
    const some = encodeRequest(
      Metadata,
      9,
      { correlationId: 1, clientId: null },
      {
        topics: [{ name: 'ab' }],
        allowAutoTopicCreation: true,
      },
    );
    expect(some.subarray(4).toString('hex')).toBe(
      hex(`0003 0009 00000001 ffff 00  02 03 ${text('ab')} 00  01 00 00 00`).toString('hex'),
    );
    const all = encodeRequest(Metadata, 9, { correlationId: 1, clientId: null }, { topics: null });
    const frame = all.subarray(4);
    expect(frame.subarray(11).toString('hex')).toBe('0001000000');
    expect(
      decodeRequest(Metadata, 9, frame, decodeRequestHeader(frame).bodyOffset!).topics,
    ).toBeNull();
  });

  it('Fetch v12 response: tagged fields are written only when not at their default, in tag order', () => {
    const body = {
      responses: [
        {
          topic: 't',
          partitions: [
            {
              partitionIndex: 0,
              highWatermark: 5,
              lastStableOffset: 5,
              logStartOffset: 0,
              currentLeader: { leaderId: 2, leaderEpoch: 9 },
              abortedTransactions: null,
              records: Buffer.alloc(0),
            },
          ],
        },
      ],
    };
    const bytes = concat(encodeResponse(Fetch, 12, 1, body));
    const partition = hex(`
      00000000 0000 0000000000000005 0000000000000005 0000000000000000
      00 ffffffff 01
      01 01 09 00000002 00000009 00`);
    expect(bytes.toString('hex')).toContain(partition.toString('hex'));
    const decoded = decodeResponse(Fetch, 12, bytes.subarray(4)).body;
    expect(decoded.responses[0]!.partitions[0]!.currentLeader).toEqual({
      leaderId: 2,
      leaderEpoch: 9,
    });
    expect(decoded.responses[0]!.partitions[0]!.divergingEpoch).toEqual({
      epoch: -1,
      endOffset: -1,
    });
  });

  it('unknown tagged fields are skipped', () => {
    // Metadata v9 request for every topic, ending in a tagged field 5 of two bytes nobody knows.
    const frame = hex(`0003 0009 00000001 ffff 00  00 01 00 00  01 05 02 abcd`);
    expect(decodeRequest(Metadata, 9, frame, 11)).toMatchObject({
      topics: null,
      allowAutoTopicCreation: true,
    });
  });
});
