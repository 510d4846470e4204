import { type Check, onCluster, type Session } from '@strand/auth';
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
import {
  gateTopics,
  type KafkaAuthorization,
  type Refused,
  refusalCode,
  withRefused,
} from './authorize.js';
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

/** A handler that declares no authorization: admins (alter on the cluster) alone are served. */
const ADMINS_ONLY: KafkaAuthorization<unknown> = { whole: () => [onCluster('alterAcls')] };

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
    const decoded = decodeRequest(h.api, header.apiVersion, frame, bodyOffset);
    const releases: (() => void)[] = [];
    const sent = () => {
      for (const r of releases.splice(0)) r();
    };
    const session = { principal: conn.session.principal, host: conn.session.host };
    const may = (check: Check, log = false): boolean => {
      const guard = this.deps.guard;
      if (!guard?.enabled || guard.permits(session, check)) return true;
      if (log) this.refused(h.api.name, session, check);
      return false;
    };
    const encode = (res: unknown): FrameAnswer & { body?: unknown } => ({
      chunks: encodeResponse(h.api, header.apiVersion, header.correlationId, res as never),
      sent,
      body: res,
    });
    // What the request may do (see authorize.ts); a refusal changes nothing.
    const a: KafkaAuthorization<unknown> = this.deps.guard?.enabled
      ? (h.authorization ?? ADMINS_ONLY)
      : { open: true };
    let req = decoded as Record<string, unknown>;
    let refused: Refused = [];
    const denied = a.whole?.(req).find((c) => !may(c, true));
    if (denied) {
      const answer = a.refuse?.(
        req,
        refusalCode(denied),
        `${session.principal} may not: ${h.api.name}`,
      );
      return answer === undefined ? { chunks: 'close', sent } : encode(answer);
    }
    if (a.topics) ({ req, refused } = gateTopics(a.topics, req, (c) => may(c, true)));
    try {
      let res = await h.handle(req as never, {
        deps: this.deps,
        header,
        clientHost: conn.clientHost,
        principal: conn.session.principal,
        host: conn.session.host,
        may,
        connectionId: conn.id,
        afterSent: (release) => releases.push(release),
        served: this.served,
      });
      if (refused.length > 0 && a.topics) {
        // acks=0: a producer learns of a failure by its connection closing.
        if (res === NO_RESPONSE) res = CLOSE_CONNECTION;
        else if (res !== CLOSE_CONNECTION)
          res = withRefused(a.topics, res as Record<string, unknown>, refused) as typeof res;
      }
      if (res === NO_RESPONSE) return { chunks: 'none', sent };
      if (res === CLOSE_CONNECTION) return { chunks: 'close', sent };
      return encode(res);
    } catch (err) {
      sent();
      throw err;
    }
  }

  /** One line per refusal: who, what and on which resource (throttled by the logger). */
  private refused(api: string, session: Session, check: Check): void {
    try {
      this.deps.guard?.requireAll(session, [check]);
    } catch (err) {
      this.deps.security.complain('kafka: refused a request', err, {
        api,
        principal: session.principal,
        remote: session.host,
      });
    }
  }
}
