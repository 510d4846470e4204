import { randomBytes } from 'node:crypto';
import type * as grpc from '@grpc/grpc-js';
import {
  decodeUser,
  encodeTokenKey,
  encodeUser,
  SCRAM_MECHANISMS,
  SecurityKeys,
  UserNameSchema,
  userWith,
} from '@strand/auth';
import type { KvNode } from '@strand/kv';
import { callPrincipal, type NodeSecurity } from '@strand/security';
import {
  parseRequest,
  securityService,
  UnavailableError,
  UnknownUserError,
  UserExistsError,
} from '@strand/wire';
import { z } from 'zod';
import { aclHandlers } from './acl-service.js';
import { type Call, leaderWrites } from './leader-writes.js';

const Credential = z.object({
  mechanism: z.enum(SCRAM_MECHANISMS),
  salt: z.instanceof(Buffer).refine((b) => b.length >= 16 && b.length <= 64, 'salt: 16..64 bytes'),
  iterations: z.number().int().min(4096).max(16384),
  stored_key: z.instanceof(Buffer).refine((b) => b.length >= 32 && b.length <= 64),
  server_key: z.instanceof(Buffer).refine((b) => b.length >= 32 && b.length <= 64),
});
const UpsertUserRequest = z.object({
  name: UserNameSchema,
  credential: Credential,
  create_only: z.boolean(),
  update_only: z.boolean(),
});
const UserRequest = z.object({ name: UserNameSchema });

const b = (s: string) => Buffer.from(s);

/**
 * The Security service on the coordinators' leader: users (here) and ACLs (acl-service.ts)
 * are records under /strand/ written through Raft. The first user also makes the
 * cluster's token key (a random secret every node reads), so tokens can be signed.
 */
export function addSecurityService(
  server: grpc.Server,
  node: KvNode,
  security: NodeSecurity,
): void {
  const writes = leaderWrites(node, security);
  const { propose, handler } = writes;
  const ready = (call: Call) => writes.ready(call, 'users');
  const current = (name: string) => node.sm.range(b(SecurityKeys.user(name))).kvs[0];
  const ensureTokenKey = async () => {
    if (node.sm.range(b(SecurityKeys.tokenKey)).kvs[0]) return;
    await propose({
      t: 'txn',
      compare: [{ key: b(SecurityKeys.tokenKey), target: 'version', result: '=', value: 0 }],
      success: [
        { t: 'put', key: b(SecurityKeys.tokenKey), value: encodeTokenKey(randomBytes(32)) },
      ],
      failure: [],
    });
  };
  server.addService(securityService('Security').service, {
    ...aclHandlers(node, security, writes),
    UpsertUser: handler(async (call) => {
      const r = parseRequest(UpsertUserRequest, call.request);
      await ready(call);
      const existing = current(r.name);
      if (existing && r.create_only) throw new UserExistsError(`user "${r.name}" exists`);
      if (!existing && r.update_only) throw new UnknownUserError(`no user "${r.name}"`);
      await ensureTokenKey();
      const c = r.credential;
      const user = userWith(
        existing && decodeUser(SecurityKeys.user(r.name), existing.value),
        r.name,
        c.mechanism,
        {
          salt: c.salt,
          iterations: c.iterations,
          storedKey: c.stored_key,
          serverKey: c.server_key,
        },
      );
      const key = b(SecurityKeys.user(r.name));
      const res = await propose({
        t: 'txn',
        compare: [{ key, target: 'mod', result: '=', value: existing?.modRevision ?? 0 }],
        success: [{ t: 'put', key, value: encodeUser(user) }],
        failure: [],
      });
      if (res.t !== 'txn' || !res.succeeded)
        throw new UnavailableError(`user "${r.name}" changed meanwhile: try again`);
      security.log(
        { user: r.name, mechanism: c.mechanism, principal: callPrincipal(call.metadata) },
        existing ? 'user updated' : 'user created',
      );
      return {};
    }),
    DeleteUser: handler(async (call) => {
      const r = parseRequest(UserRequest, call.request);
      await ready(call);
      if (!current(r.name)) throw new UnknownUserError(`no user "${r.name}"`);
      await propose({ t: 'del', key: b(SecurityKeys.user(r.name)) });
      security.log({ user: r.name, principal: callPrincipal(call.metadata) }, 'user deleted');
      return {};
    }),
    ListUsers: handler(async (call) => {
      await ready(call);
      return {
        users: [...security.state.users.values()]
          .map((u) => ({ name: u.name, mechanisms: Object.keys(u.credentials).sort() }))
          .sort((x, y) => x.name.localeCompare(y.name)),
      };
    }),
  });
}
