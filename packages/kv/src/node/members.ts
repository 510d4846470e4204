import { z } from 'zod';
import { type ConfChange, ConfChangeType, type ConfState } from '../raft/types.js';
import { encodeKvCommand } from '../store/command-codec.js';
import type { KvStateMachine } from '../store/kv-store.js';

/**
 * Where each coordinator is. Which ids are members (voters, learners) is Raft's configuration;
 * their addresses come from this node's own config for the members it was started with, and
 * from the store for those added at run time: applying an added member's conf change writes
 * `/strand/coordinators/<id>` (and a removal marks it removed, so an id is never reused), in
 * the same entry, on every replica alike.
 */
export const MEMBERS_PREFIX = '/strand/coordinators/';

export interface MemberInfo {
  id: number;
  /** Client address (KV, controller, groups). */
  address: string;
  /** Raft listener, as this node dials it. */
  peerAddress: string;
  learner: boolean;
}

const RecordSchema = z.object({
  address: z.string(),
  peerAddress: z.string(),
  removed: z.boolean().optional(),
});
type MemberRecord = z.infer<typeof RecordSchema>;

/** The context an added member's conf change carries. */
export function memberContext(address: string, peerAddress: string): Uint8Array {
  return Buffer.from(JSON.stringify({ address, peerAddress }));
}

/**
 * The KV command applying `cc` writes (undefined when it writes none: a promotion, or a change
 * without a readable context).
 */
export function memberCommand(cc: ConfChange, index: number): Uint8Array | undefined {
  const key = Buffer.from(`${MEMBERS_PREFIX}${cc.nodeId}`);
  let record: MemberRecord;
  if (cc.type === ConfChangeType.RemoveNode)
    record = { address: '', peerAddress: '', removed: true };
  else if (cc.type === ConfChangeType.AddLearner) {
    const parsed = RecordSchema.safeParse(parseJson(cc.context));
    if (!parsed.success) return undefined;
    record = parsed.data;
  } else return undefined;
  return encodeKvCommand(
    { t: 'put', key, value: Buffer.from(JSON.stringify(record)) },
    `conf-change-${index}`,
    // Made by each replica as it applies the change, never sent: JSON, which every node reads.
    0,
  );
}

function parseJson(bytes: Uint8Array | undefined): unknown {
  try {
    return JSON.parse(Buffer.from(bytes ?? []).toString('utf8'));
  } catch {
    return undefined;
  }
}

/** The members as this node knows them, rebuilt after every change it applies. */
export class MemberDirectory {
  private members = new Map<number, MemberInfo>();
  private records = new Map<number, MemberRecord>();

  constructor(
    private readonly self: number,
    /** Client addresses from this node's config (its `--peers`). */
    private readonly configured: ReadonlyMap<number, string>,
    /** How this node dials the configured peers' Raft listeners. */
    private readonly configuredPeers: ReadonlyMap<number, string>,
  ) {}

  /** Reads the records from the store and the ids from Raft's configuration. */
  refresh(conf: ConfState, sm: KvStateMachine): void {
    const prefix = Buffer.from(MEMBERS_PREFIX);
    const end = Buffer.from(prefix);
    end[end.length - 1] = end[end.length - 1]! + 1;
    this.records = new Map();
    for (const kv of sm.range(prefix, end).kvs) {
      const id = Number(kv.key.subarray(prefix.length).toString());
      const parsed = RecordSchema.safeParse(parseJson(kv.value));
      if (Number.isSafeInteger(id) && parsed.success) this.records.set(id, parsed.data);
    }
    const next = new Map<number, MemberInfo>();
    const add = (id: number, learner: boolean) => {
      const record = this.records.get(id);
      next.set(id, {
        id,
        address: this.configured.get(id) ?? record?.address ?? '',
        peerAddress: this.configuredPeers.get(id) ?? record?.peerAddress ?? '',
        learner,
      });
    };
    for (const id of conf.voters) add(id, false);
    for (const id of conf.learners) add(id, true);
    this.members = next;
  }

  get(id: number): MemberInfo | undefined {
    return this.members.get(id);
  }

  has(id: number): boolean {
    return this.members.has(id);
  }

  list(): MemberInfo[] {
    return [...this.members.values()].sort((a, b) => a.id - b.id);
  }

  /** Was `id` a member once (ids are never reused: a stale incarnation's answers would count)? */
  wasRemoved(id: number): boolean {
    return this.records.get(id)?.removed === true;
  }

  /** Every other member's Raft address, for the transport. */
  raftAddresses(): Map<number, string> {
    return new Map(
      this.list()
        .filter((m) => m.id !== this.self && m.peerAddress)
        .map((m) => [m.id, m.peerAddress]),
    );
  }
}
