import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { APIS } from './apis/index.js';
import {
  decodeRequest,
  decodeRequestHeader,
  decodeResponse,
  encodeRequest,
  encodeResponse,
  isFlexible,
} from './frame.js';
import { concat } from './io.js';
import { arbitraryMessage } from './message.test-util.js';
import { KafkaProtocolError } from './protocol-error.js';
import type { ApiDef } from './schema.js';

const versions = (a: ApiDef) =>
  Array.from({ length: a.maxVersion - a.minVersion + 1 }, (_, i) => a.minVersion + i);

const cases = [...APIS.values()].flatMap((a) => versions(a).map((v) => [a.name, v, a] as const));

/** A decoder may answer or refuse with a typed error; anything else is a bug. */
function refusesCleanly(decode: () => unknown): void {
  try {
    decode();
  } catch (err) {
    if (!(err instanceof KafkaProtocolError)) throw err;
  }
}

describe.each(cases)('%s v%i', (_name, version, api) => {
  const flexible = isFlexible(api, version);

  it('round-trips requests', () => {
    fc.assert(
      fc.property(
        arbitraryMessage(api.request, version, flexible),
        fc.integer(),
        fc.option(fc.string({ maxLength: 20 }), { nil: null }),
        (body, correlationId, clientId) => {
          const bytes = encodeRequest(api, version, { correlationId, clientId }, body as never);
          expect(bytes.readInt32BE(0)).toBe(bytes.length - 4);
          const frame = bytes.subarray(4);
          const { header, bodyOffset } = decodeRequestHeader(frame);
          expect(header).toEqual({ apiKey: api.key, apiVersion: version, correlationId, clientId });
          expect(decodeRequest(api, version, frame, bodyOffset!)).toEqual(body);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('round-trips responses', () => {
    fc.assert(
      fc.property(arbitraryMessage(api.response, version, flexible), fc.integer(), (body, id) => {
        const bytes = concat(encodeResponse(api, version, id, body as never));
        expect(bytes.readInt32BE(0)).toBe(bytes.length - 4);
        expect(decodeResponse(api, version, bytes.subarray(4))).toEqual({
          correlationId: id,
          body,
        });
      }),
      { numRuns: 60 },
    );
  });

  it('refuses random, truncated and corrupted input with a typed error', () => {
    fc.assert(
      fc.property(
        arbitraryMessage(api.request, version, flexible),
        arbitraryMessage(api.response, version, flexible),
        fc.uint8Array({ maxLength: 200 }),
        fc.nat(),
        fc.nat(),
        (req, res, noise, cut, flip) => {
          const request = encodeRequest(
            api,
            version,
            { correlationId: 1, clientId: 'c' },
            req as never,
          ).subarray(4);
          const response = concat(encodeResponse(api, version, 1, res as never)).subarray(4);
          const bodyAt = decodeRequestHeader(request).bodyOffset!;
          for (const frame of [request, response]) {
            const truncated = frame.subarray(0, cut % (frame.length + 1));
            const corrupted = Buffer.from(frame);
            if (corrupted.length > 0) corrupted[flip % corrupted.length]! ^= 1 << (flip % 8);
            for (const input of [Buffer.from(noise), truncated, corrupted]) {
              refusesCleanly(() => decodeRequestHeader(input));
              refusesCleanly(() =>
                decodeRequest(api, version, input, Math.min(bodyAt, input.length)),
              );
              refusesCleanly(() => decodeResponse(api, version, input));
            }
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('forged lengths', () => {
  it('an array claiming 2^31-1 elements is refused before anything is allocated', () => {
    const metadata = APIS.get(3)!;
    const frame = Buffer.from([0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
    expect(() => decodeRequest(metadata, 4, frame, 0)).toThrow(KafkaProtocolError);
    // Compact (flexible) form: the varint 0xfffffffe.
    const compact = Buffer.from([0xfe, 0xff, 0xff, 0xff, 0x0f, 0, 0]);
    expect(() => decodeRequest(metadata, 9, compact, 0)).toThrow(/claims/);
  });

  it('a varint of more than 5 bytes is refused', () => {
    const metadata = APIS.get(3)!;
    const frame = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    expect(() => decodeRequest(metadata, 9, frame, 0)).toThrow(/varint/);
  });

  it('a string longer than what is left is refused', () => {
    const metadata = APIS.get(3)!;
    const frame = Buffer.from([0, 0, 0, 1, 0x7f, 0xff, 0x61]);
    expect(() => decodeRequest(metadata, 1, frame, 0)).toThrow(/truncated/);
  });
});
