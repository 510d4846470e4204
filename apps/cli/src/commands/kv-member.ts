import type { KvClient, Member } from '@strand/client';
import { HostPortSchema } from '@strand/wire';
import { flag } from '../cli/flags.js';
import { table } from '../cli/output.js';
import { type Command, type Context, command } from '../cli/spec.js';
import { UsageError } from '../cli/usage.js';
import { kvClient } from './common.js';

async function withKv<T>(ctx: Context, f: (kv: KvClient) => Promise<T>): Promise<T> {
  const client = kvClient(ctx);
  try {
    return await f(client);
  } finally {
    client.close();
  }
}

const memberTable = (members: Member[]) =>
  table(
    members.map((m) => ({
      id: m.id,
      address: m.address,
      'peer-address': m.peerAddress,
      role: m.isLearner ? 'learner' : 'voter',
      leader: m.isLeader ? '*' : '',
      'reads-format': m.kvFormatRead,
    })),
  );

const ID = { name: 'ID', help: "the coordinator's id (a whole number of 1 or more)" };
const memberId = (ctx: Context) => {
  const text = ctx.args[0]!;
  if (!/^\d+$/.test(text) || Number(text) < 1 || !Number.isSafeInteger(Number(text)))
    throw new UsageError(`ID must be a whole number of 1 or more, got "${text}"`, ctx.path);
  return Number(text);
};

const list = command({
  name: 'list',
  summary: 'the coordinators: voters and learners, their addresses, who leads',
  target: 'coordinators',
  examples: [{ command: 'strand kv member list --json' }],
  run: (ctx) =>
    withKv(ctx, async (kv) => {
      const m = await kv.members();
      ctx.out.result(
        {
          members: m.members,
          leader: m.leaderId,
          clusterId: m.clusterId,
          term: m.term,
          kvFormat: m.kvFormat,
        },
        () =>
          `${memberTable(m.members)}\ncluster ${m.clusterId}, term ${m.term}, KV entry format ${m.kvFormat}`,
      );
      return 0;
    }),
});

const add = command({
  name: 'add',
  summary: 'add a coordinator as a learner (promote it once it has caught up)',
  description:
    'As etcdctl member add --learner: the new coordinator gets the log and snapshots but neither votes nor counts for quorum until `strand kv member promote`. Then start it on a fresh data folder with the flags this prints (--join true, the cluster id, and --peers naming every member). ADDRESS is its client address; its Raft listener is --peer-address (default: the next port).',
  args: [ID, { name: 'ADDRESS', help: 'its client address, host:port' }],
  flags: {
    'peer-address': flag.string("its Raft listener, host:port (default: ADDRESS's port + 1)", {
      placeholder: 'HOST:PORT',
    }),
  },
  target: 'coordinators',
  examples: [{ command: 'strand kv member add 4 10.0.0.4:2379' }],
  run: (ctx) =>
    withKv(ctx, async (kv) => {
      const id = memberId(ctx);
      const address = HostPortSchema.safeParse(ctx.args[1]);
      const peer = ctx.flags['peer-address'];
      if (!address.success || (peer !== undefined && !HostPortSchema.safeParse(peer).success))
        throw new UsageError('addresses are host:port', ctx.path);
      const members = await kv.memberAdd(id, address.data, peer ? { peerAddress: peer } : {});
      const { clusterId } = await kv.members();
      const self = members.find((m) => m.id === id);
      const start = [
        ...['--id', String(id), '--listen', address.data],
        ...['--peer-listen', self?.peerAddress ?? peer ?? ''],
        ...['--join', 'true', '--cluster-id', clusterId],
        ...['--peers', members.map((m) => `${m.id}=${m.address}`).join(',')],
        ...[
          '--raft-peers',
          members
            .filter((m) => m.id !== id)
            .map((m) => `${m.id}=${m.peerAddress}`)
            .join(','),
        ],
      ];
      ctx.out.result(
        { members, clusterId, start },
        `added coordinator ${id} as a learner\n${memberTable(members)}\nstart it with: strand-coordinator ${start.join(' ')} --data DIR`,
      );
      return 0;
    }),
});

const promote = command({
  name: 'promote',
  summary: 'make a learner a voter (refused until it has caught up)',
  args: [ID],
  target: 'coordinators',
  examples: [{ command: 'strand kv member promote 4' }],
  run: (ctx) =>
    withKv(ctx, async (kv) => {
      const members = await kv.memberPromote(memberId(ctx));
      ctx.out.result({ members }, `promoted coordinator ${ctx.args[0]}\n${memberTable(members)}`);
      return 0;
    }),
});

const remove = command({
  name: 'remove',
  summary: 'remove a coordinator (refused when the voters left could not make a quorum)',
  description:
    'As etcdctl member remove, with its strict check: a voter is removed only if the voters left that answered lately are a majority of them. Removing the leader makes it step down once the change is applied. Stop the removed coordinator afterwards; its id is never used again.',
  args: [ID],
  target: 'coordinators',
  examples: [{ command: 'strand kv member remove 2' }],
  run: (ctx) =>
    withKv(ctx, async (kv) => {
      const members = await kv.memberRemove(memberId(ctx));
      ctx.out.result({ members }, `removed coordinator ${ctx.args[0]}\n${memberTable(members)}`);
      return 0;
    }),
});

export const member: Command = {
  name: 'member',
  summary: 'list, add (as learners), promote and remove coordinators',
  subcommands: [list, add, promote, remove],
};
