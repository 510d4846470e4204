import type * as grpc from '@grpc/grpc-js';
import { type KvNode, Role } from '@strand/kv';
import { callPrincipal, type NodeSecurity } from '@strand/security';
import {
  AuthorizationFailedError,
  ErrorCode,
  NotLeaderError,
  UnavailableError,
  unaryHandler,
} from '@strand/wire';

export type Call = { request: unknown; metadata: grpc.Metadata };

/**
 * What the Security service's handlers share: they answer on the coordinators' leader, from
 * its state machine after a linearizable read, and write through Raft. With authentication
 * required the interceptor has checked the ACLs (alter or describe on the cluster); without,
 * only super users (client certificates) may manage users and ACLs.
 */
export function leaderWrites(node: KvNode, security: NodeSecurity) {
  const ready = async (call: Call, what: string) => {
    const principal = callPrincipal(call.metadata);
    if (!security.guard.enabled && !security.isSuperUser(principal))
      throw new AuthorizationFailedError(
        ErrorCode.ClusterAuthorizationFailed,
        `${principal} may not manage ${what}: only super users (--super-users) may`,
      );
    const s = node.status();
    if (s.role !== Role.Leader) throw new NotLeaderError(s.leader || undefined, s.leaderAddress);
    await node.linearizable();
  };
  const propose = async (cmd: Parameters<KvNode['propose']>[0]) => {
    const r = await node.propose(cmd);
    if (r.t === 'error') throw new UnavailableError(r.message);
    return r;
  };
  const handler =
    (fn: (call: Call) => Promise<unknown>) => (call: Call, cb: grpc.sendUnaryData<unknown>) =>
      unaryHandler(() => fn(call))(call, cb);
  return { ready, propose, handler };
}
