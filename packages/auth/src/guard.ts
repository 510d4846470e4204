import { AuthorizationFailedError, ErrorCode } from '@strand/wire';
import { ANONYMOUS, CLUSTER_NAME, type Operation, type ResourceType } from './acl.js';
import type { Authorizer, Session } from './authorizer.js';
import type { KeyRange } from './key-ranges.js';
import { REQUIREMENTS, type RequestKind, type Requirement } from './requirements.js';

const CODE = {
  topic: ErrorCode.TopicAuthorizationFailed,
  group: ErrorCode.GroupAuthorizationFailed,
  cluster: ErrorCode.ClusterAuthorizationFailed,
  kv: ErrorCode.KeyAuthorizationFailed,
  'transactional-id': ErrorCode.ClusterAuthorizationFailed,
} as const;

/**
 * One thing a request needs: request `kind` on a named resource, or (the KV store) on every
 * key of a range. An edge turns each request into its checks, and the Guard makes them all.
 */
export type Check =
  | { kind: RequestKind; type: Exclude<ResourceType, 'kv'>; name: string }
  | { kind: 'kvRead' | 'kvWrite'; range: KeyRange; what: string }
  | { kind: 'kvLease'; lease: number; owner: string };

export const onResource = (
  kind: RequestKind,
  type: Exclude<ResourceType, 'kv'>,
  name: string,
): Check => ({ kind, type, name });
export const onCluster = (kind: RequestKind): Check => ({
  kind,
  type: 'cluster',
  name: CLUSTER_NAME,
});
export const onKeys = (kind: 'kvRead' | 'kvWrite', range: KeyRange, what: string): Check => ({
  kind,
  range,
  what,
});

/**
 * Using lease `lease` (keeping it alive, revoking it, attaching keys to it), which `owner`
 * granted ('' : granted without authentication): the owner's alone, and super users'. Granting
 * a lease is open to every authenticated principal; a lease is not a resource ACLs name.
 */
export const onLease = (lease: number, owner: string): Check => ({ kind: 'kvLease', lease, owner });

/**
 * The check each protocol's edge makes, once per request and resource: REQUIREMENTS says
 * which operation the request needs on that resource, the Authorizer whether the session may.
 * Without an Authorizer (authorization off) everything is allowed.
 */
export class Guard {
  constructor(readonly authorizer: Authorizer | undefined) {}

  get enabled(): boolean {
    return this.authorizer !== undefined;
  }

  /** May `session` make request `kind` on the resource of `type` named `name`? */
  allowed(session: Session, kind: RequestKind, type: ResourceType, name: string): boolean {
    const a = this.authorizer;
    const r: Requirement = REQUIREMENTS[kind];
    if (!a || r.open) return true;
    if (r.authenticated) return session.principal !== ANONYMOUS;
    const op = r[type];
    if (op === undefined) throw new Error(`request ${kind} is not checked on a ${type}`);
    return (
      a.authorize(session, type, name, op) ||
      (r.orCluster !== undefined && a.authorize(session, 'cluster', CLUSTER_NAME, r.orCluster)) ||
      (r.orAnyTopic !== undefined && a.authorizeAny(session, 'topic', r.orAnyTopic))
    );
  }

  /** Throws the resource type's AuthorizationFailedError unless allowed. */
  require(session: Session, kind: RequestKind, type: ResourceType, name: string): void {
    if (!this.allowed(session, kind, type, name))
      throw denied(session, kind, type, name, REQUIREMENTS[kind]);
  }

  /** For requests checked on the cluster alone. */
  requireCluster(session: Session, kind: RequestKind): void {
    this.require(session, kind, 'cluster', CLUSTER_NAME);
  }

  allowedCluster(session: Session, kind: RequestKind): boolean {
    return this.allowed(session, kind, 'cluster', CLUSTER_NAME);
  }

  /** Whether `check` is allowed (a filter's question: may the caller see this one?). */
  permits(session: Session, check: Check): boolean {
    const a = this.authorizer;
    if (!a) return true;
    if ('range' in check) return a.authorizeKeys(session, check.range, REQUIREMENTS[check.kind].kv);
    if ('lease' in check)
      return a.isSuperUser(session.principal) || session.principal === check.owner;
    return this.allowed(session, check.kind, check.type, check.name);
  }

  /** Throws for the first of `checks` that is not allowed (the one error each edge maps). */
  requireAll(session: Session, checks: Iterable<Check>): void {
    if (!this.authorizer) return;
    for (const c of checks) {
      if ('range' in c) this.requireKeys(session, c.kind, c.range, c.what);
      else if ('lease' in c) {
        if (!this.permits(session, c))
          throw new AuthorizationFailedError(
            ErrorCode.KeyAuthorizationFailed,
            `${session.principal} may not use lease ${c.lease}: ${c.owner ? `only ${c.owner}, who granted it, may` : 'it was granted without authentication: only super users may'}`,
          );
      } else this.require(session, c.kind, c.type, c.name);
    }
  }

  /** For the KV store: every key of `range` must be allowed. */
  requireKeys(session: Session, kind: 'kvRead' | 'kvWrite', range: KeyRange, what: string): void {
    const a = this.authorizer;
    if (!a) return;
    const op = REQUIREMENTS[kind].kv;
    if (!a.authorizeKeys(session, range, op))
      throw new AuthorizationFailedError(
        ErrorCode.KeyAuthorizationFailed,
        `${session.principal} may not ${op} ${what} (no kv ACL allows it)`,
      );
  }
}

function denied(
  session: Session,
  kind: RequestKind,
  type: ResourceType,
  name: string,
  r: Requirement,
): AuthorizationFailedError {
  if (r.authenticated)
    return new AuthorizationFailedError(
      CODE[type],
      `${kind} needs an authenticated user (this connection is ${ANONYMOUS})`,
    );
  const op = r[type] as Operation;
  const what = type === 'cluster' ? 'the cluster' : `${type} "${name}"`;
  const alt = r.orCluster ? ` (or ${r.orCluster} on the cluster)` : '';
  return new AuthorizationFailedError(
    CODE[type],
    `${session.principal} may not ${op} ${what}${alt}: ${kind} needs it and no ACL allows it`,
  );
}
