import { InvalidRequestError } from '@strand/wire';
import { z } from 'zod';

/**
 * Kafka's ACL model: principal P is allowed or denied operation O from host H on the
 * resources a pattern matches. Strand adds the `kv` resource type: keys of the KV store, by
 * literal key or key prefix.
 */
export const RESOURCE_TYPES = ['topic', 'group', 'cluster', 'transactional-id', 'kv'] as const;
export type ResourceType = (typeof RESOURCE_TYPES)[number];

export const PATTERN_TYPES = ['literal', 'prefixed'] as const;
export type PatternType = (typeof PATTERN_TYPES)[number];

export const OPERATIONS = [
  'all',
  'read',
  'write',
  'create',
  'delete',
  'alter',
  'describe',
  'cluster-action',
  'describe-configs',
  'alter-configs',
  'idempotent-write',
] as const;
export type Operation = (typeof OPERATIONS)[number];

export const PERMISSIONS = ['allow', 'deny'] as const;
export type Permission = (typeof PERMISSIONS)[number];

/** The one cluster resource's name (Kafka's). */
export const CLUSTER_NAME = 'kafka-cluster';
/** A literal name or principal or host that matches every one. */
export const WILDCARD = '*';
export const WILDCARD_PRINCIPAL = 'User:*';
/** Whoever did not authenticate (no token, no SASL, no client certificate). */
export const ANONYMOUS = 'User:ANONYMOUS';

/** The operations each resource type has (Kafka's, plus the KV store's read and write). */
export const OPERATIONS_OF: Readonly<Record<ResourceType, readonly Operation[]>> = {
  topic: [
    'all',
    'read',
    'write',
    'create',
    'delete',
    'alter',
    'describe',
    'describe-configs',
    'alter-configs',
  ],
  group: ['all', 'read', 'delete', 'describe'],
  cluster: [
    'all',
    'create',
    'alter',
    'describe',
    'cluster-action',
    'describe-configs',
    'alter-configs',
    'idempotent-write',
  ],
  'transactional-id': ['all', 'write', 'describe'],
  kv: ['all', 'read', 'write'],
};

const PRINCIPAL = /^User:[^\s\0]{1,255}$/;
export const PrincipalSchema = z
  .string()
  .regex(PRINCIPAL, 'a principal is "User:<name>" (User:* for everyone)');

const HostSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^(\*|[0-9A-Fa-f.:]+)$/, 'a host is an IP address or *');

export const AclBindingSchema = z
  .object({
    resourceType: z.enum(RESOURCE_TYPES),
    patternType: z.enum(PATTERN_TYPES).default('literal'),
    name: z.string().min(1).max(4096),
    principal: PrincipalSchema,
    host: HostSchema.default(WILDCARD),
    operation: z.enum(OPERATIONS),
    permission: z.enum(PERMISSIONS),
  })
  .strict()
  .superRefine((b, ctx) => {
    if (!OPERATIONS_OF[b.resourceType].includes(b.operation))
      ctx.addIssue({
        code: 'custom',
        path: ['operation'],
        message: `a ${b.resourceType} has no operation "${b.operation}" (it has ${OPERATIONS_OF[b.resourceType].join(', ')})`,
      });
    if (b.resourceType === 'cluster' && b.name !== CLUSTER_NAME)
      ctx.addIssue({
        code: 'custom',
        path: ['name'],
        message: `the cluster resource is named "${CLUSTER_NAME}"`,
      });
    if (b.patternType === 'prefixed' && b.name === WILDCARD)
      ctx.addIssue({
        code: 'custom',
        path: ['name'],
        message: 'a prefixed pattern of "*" means nothing: use a literal "*"',
      });
  });
export type AclBinding = z.output<typeof AclBindingSchema>;
/** A binding as given: patternType (literal) and host (every one) may be left out. */
export type AclBindingInput = z.input<typeof AclBindingSchema>;

/** A binding as clients give it: defaults (literal, every host) filled in, checked. */
export function parseAclBinding(value: unknown): AclBinding {
  const r = AclBindingSchema.safeParse(value);
  if (r.success) return r.data;
  const i = r.error.issues[0];
  throw new InvalidRequestError(`invalid ACL: ${i?.path.join('.') || 'acl'}: ${i?.message}`);
}

/**
 * What DescribeAcls and DeleteAcls select (Kafka's AclBindingFilter): every field may be
 * left out (any); `patternType: 'match'` selects every binding whose pattern matches `name`
 * (the literal name, the literal "*", and every prefix of it).
 */
export interface AclFilter {
  resourceType?: ResourceType;
  patternType?: PatternType | 'match';
  name?: string;
  principal?: string;
  host?: string;
  operation?: Operation;
  permission?: Permission;
}

export const AclFilterSchema = z
  .object({
    resourceType: z.enum(RESOURCE_TYPES).optional(),
    patternType: z.enum([...PATTERN_TYPES, 'match']).optional(),
    name: z.string().max(4096).optional(),
    principal: PrincipalSchema.optional(),
    host: HostSchema.optional(),
    operation: z.enum(OPERATIONS).optional(),
    permission: z.enum(PERMISSIONS).optional(),
  })
  .strict();

/** Whether the binding's pattern matches resource `name` (of its own type). */
export function patternMatches(b: Pick<AclBinding, 'patternType' | 'name'>, name: string): boolean {
  if (b.patternType === 'prefixed') return name.startsWith(b.name);
  return b.name === WILDCARD || b.name === name;
}

export function filterMatches(f: AclFilter, b: AclBinding): boolean {
  if (f.resourceType !== undefined && f.resourceType !== b.resourceType) return false;
  if (f.principal !== undefined && f.principal !== b.principal) return false;
  if (f.host !== undefined && f.host !== b.host) return false;
  if (f.operation !== undefined && f.operation !== b.operation) return false;
  if (f.permission !== undefined && f.permission !== b.permission) return false;
  if (f.patternType === 'match') return f.name === undefined || patternMatches(b, f.name);
  if (f.patternType !== undefined && f.patternType !== b.patternType) return false;
  return f.name === undefined || f.name === b.name;
}

/** One line a person reads (the CLI's list, the log). */
export function describeAcl(b: AclBinding): string {
  const pattern = b.patternType === 'prefixed' ? `${b.name}*` : b.name;
  return `${b.permission} ${b.principal} ${b.operation} on ${b.resourceType} ${pattern} from ${b.host}`;
}
