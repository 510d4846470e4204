import { APIS, ApiVersions } from './apis/index.js';
import { concat, Reader, Writer } from './io.js';
import { decodeStruct, encodeStruct, planFor } from './message.js';
import { KafkaProtocolError } from './protocol-error.js';
import type { ApiDef, Input, RequestOf, ResponseOf } from './schema.js';

/**
 * Whole requests and responses. A frame is what follows the 4-byte size on the wire: the
 * header, then the body. Request header v1 (classic) or v2 (flexible: tagged fields after the
 * client id, which keeps its int16 length even then); response header v0, or v1 with tagged
 * fields in flexible versions — except ApiVersions, whose response header never has them, so a
 * client that does not know the broker's versions yet can read it.
 */

export interface RequestHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
}

export const isFlexible = (api: ApiDef, version: number) => version >= api.firstFlexible;

/** Whether `version` of `api` is one described here. */
export const describes = (api: ApiDef, version: number) =>
  version >= api.minVersion && version <= api.maxVersion;

/**
 * Reads a request's header. Key, version and correlation id come first in every header
 * version, so they are known even when the API or version is not (to answer with an error).
 * `bodyOffset` is undefined when the API or version is not described here.
 */
export function decodeRequestHeader(frame: Buffer): {
  header: RequestHeader;
  bodyOffset: number | undefined;
} {
  const r = new Reader(frame);
  const apiKey = r.int16();
  const apiVersion = r.int16();
  const correlationId = r.int32();
  const n = r.int16();
  if (n < -1) throw new KafkaProtocolError(`negative client id length ${n}`);
  const clientId = n === -1 ? null : r.utf8(n);
  const header = { apiKey, apiVersion, correlationId, clientId };
  const api = APIS.get(apiKey);
  if (!api || !describes(api, apiVersion)) return { header, bodyOffset: undefined };
  if (isFlexible(api, apiVersion)) skipTaggedFields(r);
  return { header, bodyOffset: r.pos };
}

function skipTaggedFields(r: Reader): void {
  const n = r.uvarint();
  for (let i = 0; i < n; i++) {
    r.uvarint();
    r.slice(r.uvarint(), 'tagged field');
  }
}

export function decodeRequest<A extends ApiDef>(
  api: A,
  version: number,
  frame: Buffer,
  bodyOffset: number,
): RequestOf<A> {
  const plan = planFor(api.request, version, isFlexible(api, version));
  return decodeStruct(plan, new Reader(frame, bodyOffset)) as RequestOf<A>;
}

/** A response, size prefix included, as chunks to write in order (records are not copied). */
export function encodeResponse<A extends ApiDef>(
  api: A,
  version: number,
  correlationId: number,
  body: Input<ResponseOf<A>>,
): Buffer[] {
  const flexible = isFlexible(api, version);
  const w = new Writer();
  w.int32(0); // the size, set below
  w.int32(correlationId);
  if (flexible && api.key !== ApiVersions.key) w.uvarint(0);
  encodeStruct(planFor(api.response, version, flexible), body, w);
  return sized(w);
}

/** A request, size prefix included (what a client sends). */
export function encodeRequest<A extends ApiDef>(
  api: A,
  version: number,
  header: { correlationId: number; clientId: string | null },
  body: Input<RequestOf<A>>,
): Buffer {
  const flexible = isFlexible(api, version);
  const w = new Writer();
  w.int32(0);
  w.int16(api.key);
  w.int16(version);
  w.int32(header.correlationId);
  if (header.clientId === null) w.int16(-1);
  else {
    const n = Buffer.byteLength(header.clientId);
    w.int16(n);
    w.utf8(header.clientId, n);
  }
  if (flexible) w.uvarint(0);
  encodeStruct(planFor(api.request, version, flexible), body, w);
  return concat(sized(w));
}

/** Reads a response frame (without its size prefix) to `version` of `api`. */
export function decodeResponse<A extends ApiDef>(
  api: A,
  version: number,
  frame: Buffer,
): { correlationId: number; body: ResponseOf<A> } {
  const flexible = isFlexible(api, version);
  const r = new Reader(frame);
  const correlationId = r.int32();
  if (flexible && api.key !== ApiVersions.key) skipTaggedFields(r);
  const body = decodeStruct(planFor(api.response, version, flexible), r) as ResponseOf<A>;
  return { correlationId, body };
}

function sized(w: Writer): Buffer[] {
  const size = w.length - 4;
  const chunks = w.finish();
  chunks[0]!.writeInt32BE(size, 0);
  return chunks;
}
