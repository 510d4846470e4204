import {
  type AclBindingInput,
  type AclFilter,
  CLUSTER_NAME,
  OPERATIONS,
  type Operation,
  type PatternType,
  type ResourceType,
  WILDCARD,
} from '@strand/auth';
import { z } from 'zod';

/** Kafka's spellings too: Read, DescribeConfigs, describe_configs, CLUSTER_ACTION. */
export const operationText = z
  .string()
  .transform((s) =>
    s
      .replace(/([a-z])([A-Z])/g, '$1-$2')
      .replace(/_/g, '-')
      .toLowerCase(),
  )
  .pipe(z.enum(OPERATIONS, { message: `must be one of ${OPERATIONS.join(', ')}` }));

/** What the ACL commands' flags say, parsed. */
export interface AclFlags {
  'allow-principal'?: string[];
  'deny-principal'?: string[];
  principal?: string[];
  host?: string[];
  operation?: Operation[];
  topic?: string[];
  group?: string[];
  cluster: boolean;
  'kv-prefix'?: string[];
  'resource-pattern-type'?: 'literal' | 'prefixed' | 'any' | 'match';
}

interface Resource {
  resourceType: ResourceType;
  name: string;
  patternType: PatternType | 'any' | 'match';
}

/** The resources the flags name (`--kv-prefix` is always a prefix; `*` then means every key). */
export function resourcesOf(f: AclFlags): Resource[] {
  const pattern = f['resource-pattern-type'] ?? 'literal';
  return [
    ...(f.topic ?? []).map((name) => ({
      resourceType: 'topic' as const,
      name,
      patternType: pattern,
    })),
    ...(f.group ?? []).map((name) => ({
      resourceType: 'group' as const,
      name,
      patternType: pattern,
    })),
    ...(f.cluster
      ? [{ resourceType: 'cluster' as const, name: CLUSTER_NAME, patternType: 'literal' as const }]
      : []),
    ...(f['kv-prefix'] ?? []).map((name) => ({
      resourceType: 'kv' as const,
      name,
      patternType: name === WILDCARD ? ('literal' as const) : ('prefixed' as const),
    })),
  ];
}

const principalsOf = (f: AclFlags) => [
  ...(f['allow-principal'] ?? []).map((principal) => ({ principal, permission: 'allow' as const })),
  ...(f['deny-principal'] ?? []).map((principal) => ({ principal, permission: 'deny' as const })),
];

/**
 * `strand acl add`: every combination of principal (allowed or denied), host, operation and
 * resource, as kafka-acls makes them. Throws a message for what is missing.
 */
export function bindingsOf(f: AclFlags): AclBindingInput[] {
  const who = principalsOf(f);
  const resources = resourcesOf(f);
  if (who.length === 0) throw new Error('give --allow-principal or --deny-principal');
  if (resources.length === 0) throw new Error('give --topic, --group, --cluster or --kv-prefix');
  if (!f.operation?.length) throw new Error('give --operation');
  const pattern = f['resource-pattern-type'];
  if (pattern === 'any' || pattern === 'match')
    throw new Error(`--resource-pattern-type ${pattern} selects ACLs: use it with list or remove`);
  return who.flatMap((p) =>
    (f.host ?? [WILDCARD]).flatMap((host) =>
      f.operation!.flatMap((operation) =>
        resources.map((r) => ({
          ...r,
          patternType: r.patternType as PatternType,
          host,
          operation,
          ...p,
        })),
      ),
    ),
  );
}

/**
 * `strand acl list|remove`: one filter per combination given (no flags: every ACL). A field
 * not given matches any; `--resource-pattern-type any` any pattern, `match` every pattern
 * that matches the name.
 */
export function filtersOf(f: AclFlags): AclFilter[] {
  const who: { principal?: string; permission?: 'allow' | 'deny' }[] = [
    ...principalsOf(f),
    ...(f.principal ?? []).map((principal) => ({ principal })),
  ];
  const resources: Partial<Resource>[] = resourcesOf(f);
  const product = (who.length ? who : [{}]).flatMap((p) =>
    (resources.length ? resources : [{}]).flatMap((r) =>
      (f.host?.length ? f.host : [undefined]).flatMap((host) =>
        (f.operation?.length ? f.operation : [undefined]).map((operation) => ({
          ...p,
          ...r,
          ...(host ? { host } : {}),
          ...(operation ? { operation } : {}),
        })),
      ),
    ),
  );
  return product.map(({ patternType, ...rest }) =>
    patternType === undefined || patternType === 'any' ? rest : { ...rest, patternType },
  );
}
