import type { KvNode, MemberInfo, NodeStatus } from '@strand/kv';
import { HostPortSchema, parseRequest, unaryHandler } from '@strand/wire';
import { z } from 'zod';
import { peerAddressOf } from './config.js';

const id = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
const MemberAddRequest = z.object({
  id,
  address: HostPortSchema,
  peer_address: z.union([z.literal(''), HostPortSchema]).default(''),
});
const MemberIdRequest = z.object({ id });

const memberOut = (m: MemberInfo, s: NodeStatus) => ({
  id: m.id,
  address: m.address,
  is_leader: m.id === s.leader,
  is_learner: m.learner,
  peer_address: m.peerAddress,
  kv_format_read: s.formatsRead.get(m.id) ?? 0,
});

/**
 * The Cluster service: who the members are (open: it is how clients and brokers find the
 * coordinators) and etcd's member add / remove / promote, one change at a time on the leader.
 */
export function clusterHandlers(
  node: KvNode,
  header: () => Record<string, number>,
  about: { adminUrl: string; clusterId: string },
): Record<string, ReturnType<typeof unaryHandler>> {
  const changed = (members: MemberInfo[]) => ({
    header: header(),
    members: members.map((m) => memberOut(m, node.status())),
  });
  return {
    Members: unaryHandler(async () => {
      const s = node.status();
      return {
        header: header(),
        members: s.members.map((m) => memberOut(m, s)),
        commit_index: s.commit,
        role: s.role,
        admin_url: about.adminUrl,
        cluster_id: about.clusterId,
        kv_format: s.format,
      };
    }),
    MemberAdd: unaryHandler(async (raw) => {
      const r = parseRequest(MemberAddRequest, raw);
      return changed(
        await node.addLearner(r.id, r.address, r.peer_address || peerAddressOf(r.address)),
      );
    }),
    MemberPromote: unaryHandler(async (raw) =>
      changed(await node.promote(parseRequest(MemberIdRequest, raw).id)),
    ),
    MemberRemove: unaryHandler(async (raw) =>
      changed(await node.removeMember(parseRequest(MemberIdRequest, raw).id)),
    ),
  };
}
