import { type Check, onResource, type RequestKind } from '@strand/auth';
import { KafkaError } from '@strand/kafka-protocol';

/**
 * How a Kafka API is authorized, declared beside its handler and applied by KafkaService
 * before the handler runs (REQUIREMENTS says what each kind needs):
 * - `open`: nothing is needed (ApiVersions, SASL, DescribeCluster);
 * - `topics`: each topic the request names needs `kind`; refused topics are taken out of the
 *   request and answered TOPIC_AUTHORIZATION_FAILED, partition by partition (`layout` says
 *   where the request and the answer list topics and partitions);
 * - `whole`: the request needs every check it lists; refused, it is answered by `refuse`
 *   (with the code of the resource refused: group, cluster or topic); with `topics` too,
 *   OffsetCommit's group first, then its topics;
 * - `inHandler`: the handler asks `ctx.may` itself, resource by resource (Metadata's listing,
 *   CreateTopics' per-topic results, ...).
 * A handler without one is refused to everyone but super users (nothing goes unchecked).
 */
export interface KafkaAuthorization<Req = never> {
  open?: true;
  inHandler?: true;
  whole?: (req: Req) => Check[];
  /** The answer to a request `whole` refused; undefined: close the connection. */
  refuse?: (req: Req, code: number, message: string) => unknown;
  topics?: TopicGate;
}

/** Where a list of topics (each with a name and its partitions, each with an index) lives. */
export interface TopicLayout {
  list: string;
  name: string;
  partitions: string;
  index: string;
}

export interface TopicGate {
  kind: RequestKind;
  request: TopicLayout;
  response: TopicLayout;
  /** Fields a refused partition's answer has besides its index and code (e.g. offset -1). */
  refused?: Record<string, unknown>;
}

type Obj = Record<string, unknown>;
const list = (o: Obj, key: string) => (o[key] as Obj[] | undefined) ?? [];

/** Refused topics with their partitions' indexes, as the request named them. */
export type Refused = { name: string; indexes: number[] }[];

/** Splits `req` into the request of the topics `may` allows, and the topics it refuses. */
export function gateTopics(
  gate: TopicGate,
  req: Obj,
  may: (check: Check) => boolean,
): { req: Obj; refused: Refused } {
  const { list: key, name, partitions, index } = gate.request;
  const refused: Refused = [];
  const kept = list(req, key).filter((t) => {
    const topic = String(t[name]);
    if (may(onResource(gate.kind, 'topic', topic))) return true;
    refused.push({ name: topic, indexes: list(t, partitions).map((p) => Number(p[index])) });
    return false;
  });
  return { req: refused.length === 0 ? req : { ...req, [key]: kept }, refused };
}

/** The handler's answer with the refused topics added, each partition TOPIC_AUTHORIZATION_FAILED. */
export function withRefused(gate: TopicGate, res: Obj, refused: Refused): Obj {
  const { list: key, name, partitions, index } = gate.response;
  const added = refused.map((t) => ({
    [name]: t.name,
    [partitions]: t.indexes.map((i) => ({
      ...gate.refused,
      [index]: i,
      errorCode: KafkaError.TOPIC_AUTHORIZATION_FAILED,
    })),
  }));
  return { ...res, [key]: [...list(res, key), ...added] };
}

/** The Kafka code of a refusal of `check`: TOPIC_, GROUP_ or CLUSTER_AUTHORIZATION_FAILED. */
export function refusalCode(check: Check): number {
  if ('range' in check || 'lease' in check) return KafkaError.CLUSTER_AUTHORIZATION_FAILED;
  if (check.type === 'topic') return KafkaError.TOPIC_AUTHORIZATION_FAILED;
  if (check.type === 'group') return KafkaError.GROUP_AUTHORIZATION_FAILED;
  return KafkaError.CLUSTER_AUTHORIZATION_FAILED;
}

/** Group APIs that need read on the request's group; refused, the answer's errorCode says so. */
export const groupRead = (kind: RequestKind): KafkaAuthorization<{ groupId: string }> => ({
  whole: (req) => [onResource(kind, 'group', req.groupId)],
  refuse: (_req, errorCode) => ({ errorCode }),
});
