import {
  ApiVersions,
  decodeRequest,
  decodeRequestHeader,
  describes,
  encodeResponse,
  KafkaError,
  KafkaProtocolError,
  type RequestHeader,
} from '@strand/kafka-protocol';
import type { FrameAnswer } from './connection.js';
import type { KafkaDeps } from './deps.js';
import { CLOSE_CONNECTION, type KafkaContext, type KafkaHandler, NO_RESPONSE } from './handler.js';
import { CLOSED, UNSERVED_API } from './metrics.js';
import type { KafkaSession } from './session.js';

export interface KafkaConnectionInfo {
  /** The client's address, as Kafka shows it (DescribeGroups' clientHost). */
  clientHost: string;
  /** Unique among the broker's connections. */
  id: string;
  /** Who the client is, and its SASL exchanges. */
  session: KafkaSession;
}

/**
 * The Kafka API table: one handler per API key, registered in handlers/index.ts. What
 * ApiVersions advertises is derived from it, so a broker advertises exactly what it serves.
 */
export class KafkaService {
  private readonly byKey = new Map<number, KafkaHandler>();
  readonly served: KafkaContext['served'];

  constructor(
    private readonly deps: KafkaDeps,
    handlers: readonly KafkaHandler[],
  ) {
    for (const h of handlers) {
      if (this.byKey.has(h.api.key)) throw new Error(`two handlers for ${h.api.name}`);
      const [lo, hi] = h.versions ?? [h.api.minVersion, h.api.maxVersion];
      if (!describes(h.api, lo) || !describes(h.api, hi))
        throw new Error(`${h.api.name} v${lo}-${hi} is not described by the codec`);
      this.byKey.set(h.api.key, h);
    }
    this.served = [...this.byKey.values()]
      .map((h) => ({
        apiKey: h.api.key,
        minVersion: h.versions?.[0] ?? h.api.minVersion,
        maxVersion: h.versions?.[1] ?? h.api.maxVersion,
      }))
      .sort((a, b) => a.apiKey - b.apiKey);
  }

  /** Answers one request frame; throws (and the connection closes) on what Kafka closes for. */
  async handle(frame: Buffer, conn: KafkaConnectionInfo): Promise<FrameAnswer> {
    const { session } = conn;
    if (session.expectsRawToken) return session.rawToken(frame);
    const { header, bodyOffset } = decodeRequestHeader(frame);
    const h = this.byKey.get(header.apiKey);
    const ended = this.deps.metrics?.request(h?.api.name ?? UNSERVED_API);
    try {
      // SASL, and what the session does not let through, is the session's to answer.
      const intercepted = bodyOffset !== undefined && session.intercept(header, frame, bodyOffset);
      const { body, ...answer } =
        intercepted || (await this.answer(frame, conn, header, bodyOffset, h));
      ended?.(answer.chunks === 'close' ? CLOSED : body);
      return answer;
    } catch (err) {
      ended?.(CLOSED);
      throw err;
    }
  }

  private async answer(
    frame: Buffer,
    conn: KafkaConnectionInfo,
    header: RequestHeader,
    bodyOffset: number | undefined,
    h: KafkaHandler | undefined,
  ): Promise<FrameAnswer & { body?: unknown }> {
    const range = h && (h.versions ?? [h.api.minVersion, h.api.maxVersion]);
    if (
      !h ||
      !range ||
      header.apiVersion < range[0] ||
      header.apiVersion > range[1] ||
      bodyOffset === undefined
    ) {
      // A version of ApiVersions this broker does not know: a v0 answer with the versions it
      // has, so the client can pick one (the protocol's rule).
      if (header.apiKey === ApiVersions.key) {
        const body = { errorCode: KafkaError.UNSUPPORTED_VERSION, apiKeys: this.served };
        return { chunks: encodeResponse(ApiVersions, 0, header.correlationId, body), body };
      }
      throw new KafkaProtocolError(
        `unsupported request: API ${header.apiKey} v${header.apiVersion}${h ? ` (${h.api.name} serves v${range![0]}-${range![1]})` : ''}`,
      );
    }
    const req = decodeRequest(h.api, header.apiVersion, frame, bodyOffset);
    const releases: (() => void)[] = [];
    const sent = () => {
      for (const r of releases.splice(0)) r();
    };
    try {
      const res = await h.handle(req as never, {
        deps: this.deps,
        header,
        clientHost: conn.clientHost,
        principal: conn.session.principal,
        host: conn.session.host,
        connectionId: conn.id,
        afterSent: (release) => releases.push(release),
        served: this.served,
      });
      if (res === NO_RESPONSE) return { chunks: 'none', sent };
      if (res === CLOSE_CONNECTION) return { chunks: 'close', sent };
      return {
        chunks: encodeResponse(h.api, header.apiVersion, header.correlationId, res as never),
        sent,
        body: res,
      };
    } catch (err) {
      sent();
      throw err;
    }
  }
}
