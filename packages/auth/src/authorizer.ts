import {
  type AclBinding,
  CLUSTER_NAME,
  type Operation,
  patternMatches,
  type ResourceType,
  WILDCARD,
  WILDCARD_PRINCIPAL,
} from './acl.js';
import { covers, intersects, type KeyRange, rangeOfAcl } from './key-ranges.js';

/** Who asks, and from where. */
export interface Session {
  /** `User:<name>`: a SCRAM/PLAIN user, a client certificate's CN, or User:ANONYMOUS. */
  principal: string;
  /** The client's IP address. */
  host: string;
}

export interface AuthorizerOptions {
  /** Principals allowed everything, whatever the ACLs say (Kafka's super.users). */
  superUsers: readonly string[];
  /** Kafka's allow.everyone.if.no.acl.found: a resource no ACL names is open to all. */
  allowEveryoneIfNoAclFound: boolean;
}

/**
 * An allow of any of these operations allows the asked one too (Kafka's): whoever may read,
 * write, delete or alter a resource may describe it, and whoever may alter configs may
 * describe them. A deny denies only its own operation (and `all` every one).
 */
const IMPLIED_BY: Partial<Record<Operation, readonly Operation[]>> = {
  describe: ['describe', 'read', 'write', 'delete', 'alter'],
  'describe-configs': ['describe-configs', 'alter-configs'],
};

const CACHE_LIMIT = 100_000;

/** `::ffff:10.0.0.1` (an IPv4 client on a dual-stack socket) is 10.0.0.1. */
export const normalizeHost = (host: string): string => host.replace(/^::ffff:(?=\d+\.)/, '');

/**
 * Kafka's authorization, as a pure function of the ACLs: super users may do anything; any
 * matching deny refuses; else any matching allow (of the operation, or one implying it)
 * allows; no match refuses — unless no ACL names the resource at all and
 * allow.everyone.if.no.acl.found is on. Decisions are cached until the ACLs change.
 */
export class Authorizer {
  private byType = new Map<ResourceType, AclBinding[]>();
  private readonly superUsers: ReadonlySet<string>;
  private readonly cache = new Map<string, boolean>();

  constructor(private readonly opts: AuthorizerOptions) {
    this.superUsers = new Set(opts.superUsers);
  }

  /** Replaces the ACLs (every node calls this when the ones in the KV store change). */
  setAcls(acls: Iterable<AclBinding>): void {
    const byType = new Map<ResourceType, AclBinding[]>();
    for (const acl of acls) {
      const list = byType.get(acl.resourceType) ?? [];
      list.push(acl);
      byType.set(acl.resourceType, list);
    }
    this.byType = byType;
    this.cache.clear();
  }

  isSuperUser(principal: string): boolean {
    return this.superUsers.has(principal);
  }

  /** May `session` do `operation` on the resource of `type` named `name`? */
  authorize(session: Session, type: ResourceType, name: string, operation: Operation): boolean {
    if (this.superUsers.has(session.principal)) return true;
    const key = `${session.principal}\0${session.host}\0${type}\0${name}\0${operation}`;
    const cached = this.cache.get(key);
    if (cached !== undefined) return cached;
    const resourceName = type === 'cluster' ? CLUSTER_NAME : name;
    const acls = (this.byType.get(type) ?? []).filter((a) => patternMatches(a, resourceName));
    const decision = this.decide(session, acls, operation);
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(key, decision);
    return decision;
  }

  /**
   * May `session` do `operation` on every key of `range` of the KV store? Every key must be
   * within the union of the matching allows and none within a matching deny.
   */
  authorizeKeys(session: Session, range: KeyRange, operation: Operation): boolean {
    if (this.superUsers.has(session.principal)) return true;
    const touching = (this.byType.get('kv') ?? []).filter((a) => intersects(rangeOfAcl(a), range));
    if (touching.length === 0) return this.opts.allowEveryoneIfNoAclFound;
    const applies = (a: AclBinding) => this.appliesTo(a, session);
    if (touching.some((a) => a.permission === 'deny' && applies(a) && opMatches(a, operation)))
      return false;
    const allowed = touching
      .filter((a) => a.permission === 'allow' && applies(a) && allowsOp(a, operation))
      .map(rangeOfAcl);
    return covers(allowed, range);
  }

  /**
   * May `session` do `operation` on at least one resource of `type` (Kafka's
   * authorizeByResourceType)? Some allow must match a name that no deny covers.
   */
  authorizeAny(session: Session, type: ResourceType, operation: Operation): boolean {
    if (this.superUsers.has(session.principal)) return true;
    const acls = this.byType.get(type) ?? [];
    if (acls.length === 0) return this.opts.allowEveryoneIfNoAclFound;
    const applying = acls.filter((a) => this.appliesTo(a, session) && opMatches(a, operation));
    const denies = applying.filter((a) => a.permission === 'deny');
    const shadowed = (allow: AclBinding) =>
      denies.some((d) =>
        d.patternType === 'prefixed'
          ? allow.name.startsWith(d.name)
          : d.name === WILDCARD || (allow.patternType === 'literal' && d.name === allow.name),
      );
    return applying.some((a) => a.permission === 'allow' && !shadowed(a));
  }

  private decide(session: Session, acls: AclBinding[], operation: Operation): boolean {
    if (acls.length === 0) return this.opts.allowEveryoneIfNoAclFound;
    const applying = acls.filter((a) => this.appliesTo(a, session));
    if (applying.some((a) => a.permission === 'deny' && opMatches(a, operation))) return false;
    return applying.some((a) => a.permission === 'allow' && allowsOp(a, operation));
  }

  private appliesTo(a: AclBinding, session: Session): boolean {
    return (
      (a.principal === session.principal || a.principal === WILDCARD_PRINCIPAL) &&
      (a.host === WILDCARD || a.host === session.host)
    );
  }
}

const opMatches = (a: AclBinding, op: Operation) => a.operation === 'all' || a.operation === op;
const allowsOp = (a: AclBinding, op: Operation) =>
  a.operation === 'all' || (IMPLIED_BY[op] ?? [op]).includes(a.operation);
