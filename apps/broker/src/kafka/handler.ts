import type { Check } from '@strand/auth';
import type {
  ApiDef,
  Input,
  KafkaErrorCode,
  RequestHeader,
  RequestOf,
  ResponseOf,
} from '@strand/kafka-protocol';
import type { KafkaAuthorization } from './authorize.js';
import type { KafkaDeps } from './deps.js';

/** A request that gets no answer at all (Produce with acks=0). */
export const NO_RESPONSE = Symbol('no response');
/** No answer, and the connection is closed (how Kafka tells an acks=0 producer it failed). */
export const CLOSE_CONNECTION = Symbol('close connection');

export interface KafkaContext {
  deps: KafkaDeps;
  header: RequestHeader;
  /** The client's address, as Kafka shows it (DescribeGroups' clientHost). */
  clientHost: string;
  /**
   * Who sent the request: `User:<name>` of its SASL user or of its client certificate's CN
   * (SSL listener), else `User:ANONYMOUS` — what ACLs are checked against, with `host`.
   */
  principal: string;
  /** The client's IP address (ACLs' host). */
  host: string;
  /**
   * Whether the principal may make `check` (always, without authorization); `log`: a
   * refusal is logged (a topic left out of a listing is not).
   */
  may(check: Check, log?: boolean): boolean;
  /** This connection, among all of the broker's (what fetch memory is bounded per). */
  connectionId: string;
  /**
   * Runs `release` once this request's answer has been written to the client's socket (or the
   * connection is gone): what an answer holds stays held until then.
   */
  afterSent(release: () => void): void;
  /** Every API this broker serves, with its versions (what ApiVersions answers). */
  served: readonly { apiKey: number; minVersion: number; maxVersion: number }[];
}

export type HandlerResult<A extends ApiDef> =
  | Input<ResponseOf<A>>
  | typeof NO_RESPONSE
  | typeof CLOSE_CONNECTION;

/** One API's handler: the versions it serves and what it answers. */
export interface KafkaHandler<A extends ApiDef = ApiDef> {
  readonly api: A;
  /** The versions served (default: every version the codec describes). */
  readonly versions?: readonly [number, number];
  /** How its requests are authorized (see KafkaAuthorization); none: super users only. */
  readonly authorization?: KafkaAuthorization<RequestOf<A>>;
  handle(req: RequestOf<A>, ctx: KafkaContext): Promise<HandlerResult<A>>;
}

/** Defines a handler with its request and response types taken from the API's description. */
export function handler<A extends ApiDef>(api: A, h: Omit<KafkaHandler<A>, 'api'>): KafkaHandler {
  return { api, ...h } as unknown as KafkaHandler;
}

/** An error code and message pair, as most Kafka responses carry them. */
export interface ErrorPair {
  errorCode: KafkaErrorCode;
  errorMessage: string | null;
}
