import {
  type AclBinding,
  type AclFilter,
  type Operation,
  type PatternType,
  type Permission,
  parseAclBinding,
  type ResourceType,
} from '@strand/auth';
import {
  AclOperation as O,
  AclPatternType as P,
  AclResourceType as R,
  AclPermissionType as T,
} from '@strand/kafka-protocol';
import { InvalidRequestError } from '@strand/wire';

/** The resource types Kafka clients see (the KV store's `kv` has no Kafka code). */
export type KafkaResourceType = Exclude<ResourceType, 'kv'>;

/** One table per ACL field: Kafka's code ↔ Strand's name (both ways, in one place). */
const RESOURCE = new Map<number, KafkaResourceType>([
  [R.TOPIC, 'topic'],
  [R.GROUP, 'group'],
  [R.CLUSTER, 'cluster'],
  [R.TRANSACTIONAL_ID, 'transactional-id'],
]);
const PATTERN = new Map<number, PatternType>([
  [P.LITERAL, 'literal'],
  [P.PREFIXED, 'prefixed'],
]);
const OPERATION = new Map<number, Operation>([
  [O.ALL, 'all'],
  [O.READ, 'read'],
  [O.WRITE, 'write'],
  [O.CREATE, 'create'],
  [O.DELETE, 'delete'],
  [O.ALTER, 'alter'],
  [O.DESCRIBE, 'describe'],
  [O.CLUSTER_ACTION, 'cluster-action'],
  [O.DESCRIBE_CONFIGS, 'describe-configs'],
  [O.ALTER_CONFIGS, 'alter-configs'],
  [O.IDEMPOTENT_WRITE, 'idempotent-write'],
]);
const PERMISSION = new Map<number, Permission>([
  [T.DENY, 'deny'],
  [T.ALLOW, 'allow'],
]);

/** ANY is 1 in each of Kafka's four ACL enums. */
const ANY = R.ANY;

export const KAFKA_RESOURCE_TYPES: readonly KafkaResourceType[] = [...RESOURCE.values()];

function nameOf<N>(table: ReadonlyMap<number, N>, code: number, what: string): N {
  const name = table.get(code);
  if (name === undefined)
    throw new InvalidRequestError(
      `${what} ${code} is not one an ACL can have (${[...table].map(([c, n]) => `${c} ${n}`).join(', ')})`,
    );
  return name;
}

function codeOf<N>(table: ReadonlyMap<number, N>, name: N): number {
  for (const [code, n] of table) if (n === name) return code;
  throw new Error(`no Kafka code for ${String(name)}`);
}

/** An ACL binding as Kafka sends one (CreateAcls' creations, DeleteAcls' matches). */
export interface KafkaBinding {
  resourceType: number;
  resourceName: string;
  patternType: number;
  principal: string;
  host: string;
  operation: number;
  permissionType: number;
}

/**
 * A creation as Strand's binding, checked as the SDK's are: an InvalidRequestError for a
 * filter-only code (ANY, MATCH), one Strand has not (tokens, users), or a bad binding.
 */
export function bindingFromKafka(b: KafkaBinding): AclBinding {
  return parseAclBinding({
    resourceType: nameOf(RESOURCE, b.resourceType, 'resource type'),
    patternType: nameOf(PATTERN, b.patternType, 'pattern type'),
    name: b.resourceName,
    principal: b.principal,
    host: b.host,
    operation: nameOf(OPERATION, b.operation, 'operation'),
    permission: nameOf(PERMISSION, b.permissionType, 'permission type'),
  });
}

/** A binding Kafka clients can be shown (the KV store's cannot). */
export type KafkaAclBinding = AclBinding & { resourceType: KafkaResourceType };

export function bindingToKafka(b: KafkaAclBinding): KafkaBinding {
  return {
    resourceType: codeOf(RESOURCE, b.resourceType),
    resourceName: b.name,
    patternType: codeOf(PATTERN, b.patternType),
    principal: b.principal,
    host: b.host,
    operation: codeOf(OPERATION, b.operation),
    permissionType: codeOf(PERMISSION, b.permission),
  };
}

/** A filter as Kafka sends one (DescribeAcls' request, DeleteAcls' filters). */
export interface KafkaFilter {
  resourceTypeFilter: number;
  resourceNameFilter: string | null;
  patternTypeFilter: number;
  principalFilter: string | null;
  hostFilter: string | null;
  operation: number;
  permissionType: number;
}

/**
 * Kafka's AclBindingFilter as Strand's: ANY codes and null strings match any; MATCH selects
 * every pattern that matches the name. `null`: a filter no binding can match (an empty name,
 * principal or host), answered with nothing rather than read as "any".
 */
export function filterFromKafka(f: KafkaFilter): AclFilter | null {
  const any = <N>(table: ReadonlyMap<number, N>, code: number, what: string) =>
    code === ANY ? undefined : nameOf(table, code, what);
  const filter: AclFilter = {
    resourceType: any(RESOURCE, f.resourceTypeFilter, 'resource type'),
    patternType:
      f.patternTypeFilter === P.MATCH ? 'match' : any(PATTERN, f.patternTypeFilter, 'pattern type'),
    name: f.resourceNameFilter ?? undefined,
    principal: f.principalFilter ?? undefined,
    host: f.hostFilter ?? undefined,
    operation: any(OPERATION, f.operation, 'operation'),
    permission: any(PERMISSION, f.permissionType, 'permission type'),
  };
  for (const k of Object.keys(filter) as (keyof AclFilter)[])
    if (filter[k] === undefined) delete filter[k];
  return [filter.name, filter.principal, filter.host].includes('') ? null : filter;
}

export const isKafkaBinding = (b: AclBinding): b is KafkaAclBinding => b.resourceType !== 'kv';
