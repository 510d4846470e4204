import {
  type AclBinding,
  type AclFilter,
  AclFilterSchema,
  aclId,
  decodeAcl,
  describeAcl,
  encodeAcl,
  filterMatches,
  parseAclBinding,
  SecurityKeys,
} from '@strand/auth';
import { type KvNode, prefixEnd } from '@strand/kv';
import { callPrincipal, type NodeSecurity } from '@strand/security';
import { InvalidRequestError, parseRequest, UnavailableError } from '@strand/wire';
import { z } from 'zod';
import type { leaderWrites } from './leader-writes.js';

/** Bindings one CreateAcls may carry (one Raft entry holds them all). */
const MAX_ACLS_PER_REQUEST = 1000;

const FIELDS = [
  'resource_type',
  'pattern_type',
  'name',
  'principal',
  'host',
  'operation',
  'permission',
] as const;
const Wire = z.object(Object.fromEntries(FIELDS.map((f) => [f, z.string().max(4096)])));
const CreateAclsRequest = z.object({ acls: z.array(Wire).max(MAX_ACLS_PER_REQUEST) });

type WireAcl = Record<(typeof FIELDS)[number], string>;

/** A binding off the wire: '' is "not given" (literal pattern, every host). */
const bindingIn = (w: WireAcl): AclBinding =>
  parseAclBinding({
    resourceType: w.resource_type,
    patternType: w.pattern_type || undefined,
    name: w.name,
    principal: w.principal,
    host: w.host || undefined,
    operation: w.operation,
    permission: w.permission,
  });

function filterIn(w: WireAcl): AclFilter {
  const r = AclFilterSchema.safeParse({
    resourceType: w.resource_type || undefined,
    patternType: w.pattern_type || undefined,
    name: w.name || undefined,
    principal: w.principal || undefined,
    host: w.host || undefined,
    operation: w.operation || undefined,
    permission: w.permission || undefined,
  });
  if (r.success) return r.data;
  const i = r.error.issues[0];
  throw new InvalidRequestError(`invalid ACL filter: ${i?.path.join('.')}: ${i?.message}`);
}

export const bindingOut = (b: AclBinding): WireAcl => ({
  resource_type: b.resourceType,
  pattern_type: b.patternType,
  name: b.name,
  principal: b.principal,
  host: b.host,
  operation: b.operation,
  permission: b.permission,
});

const ACLS = Buffer.from(SecurityKeys.acls);

/**
 * CreateAcls, DescribeAcls, DeleteAcls (Kafka's semantics): a binding is a record under
 * /strand/acls/ keyed by a hash of its fields (creating one twice keeps one), written through
 * Raft; every node's SecurityState takes it from there by watch. Deleting by filter removes
 * every match in one Raft entry and answers what it removed.
 */
export function aclHandlers(
  node: KvNode,
  security: NodeSecurity,
  { ready, propose, handler }: ReturnType<typeof leaderWrites>,
) {
  const stored = (): AclBinding[] =>
    node.sm.range(ACLS, prefixEnd(ACLS)).kvs.flatMap((kv) => {
      try {
        return [decodeAcl(kv.key.toString(), kv.value)];
      } catch {
        return []; // logged by the node's SecurityState
      }
    });
  const who = (call: Parameters<Parameters<typeof handler>[0]>[0]) => callPrincipal(call.metadata);
  return {
    CreateAcls: handler(async (call) => {
      const acls = parseRequest(CreateAclsRequest, call.request).acls.map((w) =>
        bindingIn(w as WireAcl),
      );
      await ready(call, 'ACLs');
      if (acls.length === 0) return { acls: [] };
      await propose({
        t: 'txn',
        compare: [],
        success: acls.map((b) => ({
          t: 'put' as const,
          key: Buffer.from(SecurityKeys.acl(aclId(b))),
          value: encodeAcl(b),
        })),
        failure: [],
      });
      for (const b of acls)
        security.log({ principal: who(call), acl: describeAcl(b) }, 'ACL created');
      return { acls: acls.map(bindingOut) };
    }),
    DescribeAcls: handler(async (call) => {
      const filter = filterIn(parseRequest(Wire, call.request) as WireAcl);
      await ready(call, 'ACLs');
      return {
        acls: stored()
          .filter((b) => filterMatches(filter, b))
          .map(bindingOut),
      };
    }),
    DeleteAcls: handler(async (call) => {
      const filter = filterIn(parseRequest(Wire, call.request) as WireAcl);
      await ready(call, 'ACLs');
      const removed = stored().filter((b) => filterMatches(filter, b));
      if (removed.length === 0) return { acls: [] };
      const r = await propose({
        t: 'txn',
        compare: [],
        success: removed.map((b) => ({
          t: 'del' as const,
          key: Buffer.from(SecurityKeys.acl(aclId(b))),
        })),
        failure: [],
      });
      if (r.t !== 'txn') throw new UnavailableError('unexpected result');
      for (const b of removed)
        security.log({ principal: who(call), acl: describeAcl(b) }, 'ACL deleted');
      return { acls: removed.map(bindingOut) };
    }),
  };
}
