import * as grpc from '@grpc/grpc-js';
import {
  type ChannelSecurity,
  type ClientTls,
  channelCredentials,
  channelOptions,
  DEFAULT_CONNECT_TIMEOUT_MS,
  fromGrpcError,
  InvalidRequestError,
  type KeyValue,
  kvService,
  NotLeaderError,
  SnapshotFileReader,
  TimeoutError,
  type TlsOptions,
  UnavailableError,
  whenConnected,
} from '@strand/wire';
import type { TokenSource } from '../auth/token-source.js';
import { clientSecurity, type SecurityOptions } from '../security.js';
import { KvStream, type StreamedKind } from './kv-stream.js';

/** See KvClientOptions.retryForMs. */
const DEFAULT_RETRY_FOR_MS = 15_000;

/** The same as the topic SDK's Bytes. */
export type Bytes = Buffer | Uint8Array | string;
export type Consistency = 'linearizable' | 'stale';

export type { KeyValue };

export interface WatchEvent {
  type: 'put' | 'delete';
  kv: KeyValue;
  prevKv?: KeyValue;
}

export interface Member {
  id: number;
  /** Client address (KV, controller, groups). */
  address: string;
  isLeader: boolean;
  /** Gets the log but neither votes nor counts for commit (until promoted). */
  isLearner: boolean;
  /** Its Raft listener, as the answering node dials it. */
  peerAddress: string;
  /**
   * The newest KV entry format it reads, as the answering node heard it (ask the leader: it
   * hears from every member; 0 also for one not heard from yet).
   */
  kvFormatRead: number;
}

export interface RawMember {
  id: number;
  address: string;
  is_leader: boolean;
  is_learner: boolean;
  peer_address: string;
  kv_format_read?: number;
}

export const memberFromWire = (m: RawMember): Member => ({
  id: m.id,
  address: m.address,
  isLeader: m.is_leader,
  isLearner: m.is_learner,
  peerAddress: m.peer_address,
  kvFormatRead: m.kv_format_read ?? 0,
});

export interface MembersInfo {
  members: Member[];
  leaderId: number;
  term: number;
  revision: number;
  appliedIndex: number;
  commitIndex: number;
  answeredBy: number;
  role: string;
  /** `http://host:port` of the answering node's admin listener (metrics, readiness); '' for none. */
  adminUrl: string;
  /** The cluster's id (a coordinator joining it needs it: `--cluster-id`). */
  clusterId: string;
  /**
   * The Raft entry format the cluster writes KV commands in (0: JSON, 1: binary), as the
   * answering node has applied it.
   */
  kvFormat: number;
}

export interface LeaseStatus {
  id: number;
  ttlMs: number;
  /** Until it expires without a keep-alive, as the leader counts. */
  remainingMs: number;
  /** Keys attached to it. */
  keys: number;
}

export interface KvClientOptions {
  /** Any coordinators of the cluster: `host:port`. */
  bootstrap: string[];
  /** Per-attempt deadline. */
  timeoutMs?: number;
  /**
   * How long an attempt waits for a connection to a coordinator (at most timeoutMs, default
   * 10_000): past it the coordinator counts as unreachable and the request, unsent, goes to
   * another.
   */
  connectTimeoutMs?: number;
  /**
   * How long a request that is safe to repeat (or was refused unapplied: no leader, not the
   * leader, unreachable) is tried again, default 15_000: several times what electing a new
   * leader takes (1.2–2.4 s by default), so a coordinator's death or a cluster's first
   * election is waited out rather than reported.
   */
  retryForMs?: number;
  /** At most this many tries after the first, within retryForMs (default: as many as fit). */
  retries?: number;
  /** TLS (and mutual TLS): the cluster's CA, and a certificate of this client's own. */
  tls?: TlsOptions | ClientTls;
  /** A user of the cluster (SCRAM-SHA-512 by default); needs `tls`. */
  sasl?: SecurityOptions['sasl'];
}

export type CompareTarget = 'version' | 'createRevision' | 'modRevision' | 'value';
export type CompareOp = '=' | '!=' | '<' | '>';
/** What each operation of a transaction answered, in order: the keys a get found, how many a delete removed. */
export type TxnResult = { get: KeyValue[] } | { deleted: number } | { put: true };

type RawResponseOp =
  | { response: 'range'; range: { kvs: RawKv[] } }
  | { response: 'delete_range'; delete_range: { deleted: number } }
  | { response: 'put'; put: unknown };

export type TxnOp =
  | { put: { key: Bytes; value: Bytes; lease?: number } }
  | { delete: { key: Bytes; prefix?: boolean } }
  | { get: { key: Bytes; prefix?: boolean } };

const toBuf = (b: Bytes): Buffer =>
  typeof b === 'string'
    ? Buffer.from(b)
    : Buffer.isBuffer(b)
      ? b
      : Buffer.from(b.buffer, b.byteOffset, b.byteLength);

interface RawKv {
  key: Buffer;
  value: Buffer;
  create_revision: number;
  mod_revision: number;
  version: number;
  lease: number;
}
const fromKv = (kv: RawKv): KeyValue => ({
  key: kv.key,
  value: kv.value,
  createRevision: kv.create_revision,
  modRevision: kv.mod_revision,
  version: kv.version,
  lease: kv.lease,
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How long a backup may take to stream (a store of gigabytes over a slow link). */
const SNAPSHOT_DEADLINE_MS = 30 * 60_000;

/** KV calls that go over the multiplexed stream rather than a call each. */
const STREAMED: Record<string, StreamedKind | undefined> = {
  Range: 'range',
  Put: 'put',
  DeleteRange: 'delete_range',
  Txn: 'txn',
};

type AnyClient = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

/**
 * A client for Strand's replicated KV store. It learns the membership from any bootstrap
 * node, sends writes to the leader and follows NotLeader redirects. Reads and idempotent
 * operations are retried; a write whose fate is unknown (timeout, lost connection after
 * sending) is reported as a TimeoutError, never silently repeated.
 */
export class KvClient {
  private readonly clients = new Map<string, Map<string, AnyClient>>();
  private readonly streams = new Map<string, KvStream>();
  private readonly timeoutMs: number;
  private readonly connectTimeoutMs: number;
  private readonly retries: number;
  private readonly retryForMs: number;
  private readonly security: ChannelSecurity;
  private readonly tokens: TokenSource | undefined;
  private addresses: string[];
  private leader: string | undefined;

  constructor(opts: KvClientOptions) {
    if (opts.bootstrap.length === 0)
      throw new InvalidRequestError('bootstrap needs at least one host:port');
    for (const a of opts.bootstrap) {
      if (!/^[^:\s]+:\d{1,5}$/.test(a))
        throw new InvalidRequestError(`bad bootstrap address "${a}" (expected host:port)`);
    }
    this.addresses = [...opts.bootstrap];
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.connectTimeoutMs = Math.min(
      this.timeoutMs,
      opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    );
    this.retries = opts.retries ?? Number.POSITIVE_INFINITY;
    this.retryForMs = opts.retryForMs ?? DEFAULT_RETRY_FOR_MS;
    const security = clientSecurity(opts, () => this.addresses);
    this.security = security.channels;
    this.tokens = security.tokens;
  }

  async members(): Promise<MembersInfo> {
    const res = (await this.call(
      'Cluster',
      'Members',
      {},
      { anyNode: true, idempotent: true },
    )) as {
      header: {
        member_id: number;
        leader_id: number;
        term: number;
        revision: number;
        applied_index: number;
      };
      members: RawMember[];
      commit_index: number;
      role: string;
      admin_url?: string;
      cluster_id?: string;
      kv_format?: number;
    };
    const members = res.members.map(memberFromWire);
    this.learn(members, res.header.leader_id);
    return {
      members,
      leaderId: res.header.leader_id,
      term: res.header.term,
      revision: res.header.revision,
      appliedIndex: res.header.applied_index,
      commitIndex: res.commit_index,
      answeredBy: res.header.member_id,
      role: res.role,
      adminUrl: res.admin_url ?? '',
      clusterId: res.cluster_id ?? '',
      kvFormat: res.kv_format ?? 0,
    };
  }

  /**
   * Adds coordinator `id` as a learner (as `etcdctl member add --learner`): it receives the
   * log and snapshots but neither votes nor counts for commit until promoted. Start it with
   * `--join true`, the cluster's id and `--peers` listing the members. Resolves with the
   * members once the change is applied.
   */
  async memberAdd(
    id: number,
    address: string,
    opts: { peerAddress?: string } = {},
  ): Promise<Member[]> {
    return this.memberChange('MemberAdd', { id, address, peer_address: opts.peerAddress ?? '' });
  }

  /** Makes learner `id` a voter; MEMBERSHIP_REFUSED unless it has caught up with the leader. */
  async memberPromote(id: number): Promise<Member[]> {
    return this.memberChange('MemberPromote', { id });
  }

  /** Removes member `id`; MEMBERSHIP_REFUSED when the voters left that answer are no quorum. */
  async memberRemove(id: number): Promise<Member[]> {
    return this.memberChange('MemberRemove', { id });
  }

  private async memberChange(method: string, req: unknown): Promise<Member[]> {
    const res = (await this.call('Cluster', method, req)) as { members: RawMember[] };
    const members = res.members.map(memberFromWire);
    this.learn(members, members.find((m) => m.isLeader)?.id ?? 0);
    return members;
  }

  async get(key: Bytes, opts: { consistency?: Consistency } = {}): Promise<KeyValue | undefined> {
    const r = await this.range(key, { ...opts, exact: true });
    return r.kvs[0];
  }

  /**
   * Every key starting with `key` (a prefix), or with `end` the keys in [key, end), or with
   * `exact` just `key`; in key order, at most `limit` (0: no limit).
   */
  async range(
    key: Bytes,
    opts: { consistency?: Consistency; limit?: number; exact?: boolean; end?: Bytes } = {},
  ): Promise<{ kvs: KeyValue[]; count: number; more: boolean; revision: number }> {
    const stale = opts.consistency === 'stale';
    const res = (await this.call(
      'KV',
      'Range',
      {
        key: toBuf(key),
        prefix: !opts.exact && opts.end === undefined,
        range_end: opts.end === undefined ? Buffer.alloc(0) : toBuf(opts.end),
        limit: opts.limit ?? 0,
        consistency: stale ? 'STALE' : 'LINEARIZABLE',
      },
      { anyNode: true, idempotent: true },
    )) as { kvs: RawKv[]; count: number; more: boolean; header: { revision: number } };
    return {
      kvs: res.kvs.map(fromKv),
      count: res.count,
      more: res.more,
      revision: res.header.revision,
    };
  }

  async put(
    key: Bytes,
    value: Bytes,
    opts: { lease?: number; prevKv?: boolean } = {},
  ): Promise<{ revision: number; prevKv?: KeyValue }> {
    const res = (await this.call('KV', 'Put', {
      key: toBuf(key),
      value: toBuf(value),
      lease: opts.lease ?? 0,
      prev_kv: opts.prevKv ?? false,
    })) as {
      header: { revision: number };
      prev_kv: RawKv | null;
    };
    return {
      revision: res.header.revision,
      ...(res.prev_kv ? { prevKv: fromKv(res.prev_kv) } : {}),
    };
  }

  /** Deletes `key`, every key under it (`prefix`), or the keys in [key, end). */
  async delete(
    key: Bytes,
    opts: { prefix?: boolean; end?: Bytes } = {},
  ): Promise<{ deleted: number; revision: number }> {
    const res = (await this.call('KV', 'DeleteRange', {
      key: toBuf(key),
      prefix: opts.prefix ?? false,
      range_end: opts.end === undefined ? Buffer.alloc(0) : toBuf(opts.end),
    })) as {
      deleted: number;
      header: { revision: number };
    };
    return { deleted: res.deleted, revision: res.header.revision };
  }

  /** Atomically: if every compare holds, run `then`, otherwise `otherwise`. One revision. */
  async txn(
    compares: { key: Bytes; target: CompareTarget; op: CompareOp; value: number | Bytes }[],
    then: TxnOp[],
    otherwise: TxnOp[] = [],
  ): Promise<{ succeeded: boolean; revision: number; responses: TxnResult[] }> {
    const target = {
      version: 'VERSION',
      createRevision: 'CREATE',
      modRevision: 'MOD',
      value: 'VALUE',
    } as const;
    const result = { '=': 'EQUAL', '!=': 'NOT_EQUAL', '<': 'LESS', '>': 'GREATER' } as const;
    const op = (o: TxnOp) =>
      'put' in o
        ? { put: { key: toBuf(o.put.key), value: toBuf(o.put.value), lease: o.put.lease ?? 0 } }
        : 'delete' in o
          ? { delete_range: { key: toBuf(o.delete.key), prefix: o.delete.prefix ?? false } }
          : { range: { key: toBuf(o.get.key), prefix: o.get.prefix ?? false } };
    const res = (await this.call('KV', 'Txn', {
      compare: compares.map((c) => ({
        key: toBuf(c.key),
        target: target[c.target],
        result: result[c.op],
        ...(typeof c.value === 'number' ? { number: c.value } : { value: toBuf(c.value) }),
      })),
      success: then.map(op),
      failure: otherwise.map(op),
    })) as { succeeded: boolean; header: { revision: number }; responses: RawResponseOp[] };
    return {
      succeeded: res.succeeded,
      revision: res.header.revision,
      responses: res.responses.map(
        (r): TxnResult =>
          r.response === 'range'
            ? { get: r.range.kvs.map(fromKv) }
            : r.response === 'delete_range'
              ? { deleted: r.delete_range.deleted }
              : { put: true },
      ),
    };
  }

  /**
   * Sets `key` to `value` only if its current value is `expected` (null: the key must not
   * exist). Returns whether it did.
   */
  async compareAndSet(key: Bytes, expected: Bytes | null, value: Bytes): Promise<boolean> {
    const cmp =
      expected === null
        ? { key, target: 'version' as const, op: '=' as const, value: 0 }
        : { key, target: 'value' as const, op: '=' as const, value: expected };
    return (await this.txn([cmp], [{ put: { key, value } }])).succeeded;
  }

  async leaseGrant(ttlMs: number): Promise<number> {
    const res = (await this.call('Lease', 'LeaseGrant', { ttl_ms: ttlMs, id: 0 })) as {
      id: number;
    };
    return res.id;
  }

  /** Restarts the lease's clock; resolves with its TTL. */
  async leaseKeepAlive(id: number): Promise<{ ttlMs: number }> {
    const res = (await this.call('Lease', 'LeaseKeepAlive', { id }, { idempotent: true })) as {
      ttl_ms: number;
    };
    return { ttlMs: res.ttl_ms };
  }

  /** Every live lease: its TTL, the time it has left and how many keys it holds. */
  async leases(): Promise<LeaseStatus[]> {
    const res = (await this.call('Lease', 'LeaseLeases', {}, { idempotent: true })) as {
      leases: { id: number; ttl_ms: number; remaining_ms: number; keys: number }[];
    };
    return res.leases.map((l) => ({
      id: l.id,
      ttlMs: l.ttl_ms,
      remainingMs: l.remaining_ms,
      keys: l.keys,
    }));
  }

  async leaseRevoke(id: number): Promise<void> {
    await this.call('Lease', 'LeaseRevoke', { id });
  }

  async compact(revision: number): Promise<void> {
    await this.call('KV', 'Compact', { revision });
  }

  /**
   * Events for a key (or every key under a prefix) from `fromRevision` (0: from now on), as
   * an async iterator that reconnects by itself and resumes after the last revision it
   * delivered. A compacted start revision throws CompactedError.
   */
  async *watch(
    key: Bytes,
    opts: { prefix?: boolean; fromRevision?: number; signal?: AbortSignal } = {},
  ): AsyncGenerator<WatchEvent[]> {
    let next = opts.fromRevision ?? 0;
    let failures = 0;
    while (!opts.signal?.aborted) {
      const address = this.addresses[failures % this.addresses.length]!;
      const client = this.client('Watch', address);
      type WatchMsg = {
        events: { type: string; kv: RawKv; prev_kv: RawKv | null }[];
        header: { revision: number };
      };
      const call = client.Watch!({
        key: toBuf(key),
        prefix: opts.prefix ?? false,
        start_revision: next,
      }) as grpc.ClientReadableStream<WatchMsg>;
      const abort = () => call.cancel();
      opts.signal?.addEventListener('abort', abort);
      try {
        for await (const msg of call as AsyncIterable<WatchMsg>) {
          failures = 0;
          if (msg.events.length === 0) continue;
          const events = msg.events.map((e) => ({
            type: e.type === 'DELETE' ? ('delete' as const) : ('put' as const),
            kv: fromKv(e.kv),
            ...(e.prev_kv ? { prevKv: fromKv(e.prev_kv) } : {}),
          }));
          next = Math.max(...events.map((e) => e.kv.modRevision)) + 1;
          yield events;
        }
      } catch (err) {
        if (opts.signal?.aborted) return;
        const e = fromGrpcError(err);
        // CANCELLED that we did not ask for: the server shut its streams (a clean stop).
        const serverGone = (err as { code?: number }).code === grpc.status.CANCELLED;
        if (!e.retriable && !serverGone) throw e;
        failures += 1;
        await sleep(Math.min(1000, 50 * 2 ** Math.min(failures, 5)));
      } finally {
        opts.signal?.removeEventListener('abort', abort);
      }
    }
  }

  /**
   * A backup of the whole store: the leader's state machine at one applied index, as the bytes
   * of a snapshot file, in pieces. They are checked as they arrive: the iterator ends only once
   * the whole file arrived intact and throws CorruptSnapshotError otherwise, so write them to a
   * temporary file and keep it only when the loop ends.
   */
  async *snapshot(): AsyncGenerator<Buffer> {
    const giveUpAt = Date.now() + this.retryForMs;
    for (let attempt = 0; ; attempt++) {
      const info = await this.members();
      const address = this.leader ?? info.members.find((m) => m.isLeader)?.address;
      const reader = new SnapshotFileReader({ keepBody: false });
      let received = 0;
      try {
        if (!address) throw new UnavailableError('no coordinator leads: no snapshot can be taken');
        const call = this.client('Maintenance', address).Snapshot!(
          {},
          { deadline: Date.now() + SNAPSHOT_DEADLINE_MS },
        ) as grpc.ClientReadableStream<{ data: Buffer }>;
        for await (const chunk of call as AsyncIterable<{ data: Buffer }>) {
          reader.push(chunk.data);
          received += chunk.data.length;
          yield chunk.data;
        }
        reader.end();
        return;
      } catch (err) {
        const e = fromGrpcError(err);
        // Only before the first piece may another node be asked: after, the caller has bytes.
        if (received > 0 || !e.retriable || !this.mayRetry(attempt, giveUpAt)) throw e;
        this.leader = e instanceof NotLeaderError ? e.leaderAddress : undefined;
        await sleep(Math.min(500, 50 * 2 ** attempt));
      }
    }
  }

  close(): void {
    this.tokens?.close();
    for (const s of this.streams.values()) s.close();
    this.streams.clear();
    for (const byService of this.clients.values()) for (const c of byService.values()) c.close();
    this.clients.clear();
  }

  // ---- plumbing ----

  private learn(members: { address: string; isLeader: boolean }[], leaderId: number): void {
    const known = members.filter((m) => m.address);
    if (known.length > 0) this.addresses = known.map((m) => m.address);
    this.leader = leaderId ? known.find((m) => m.isLeader)?.address : undefined;
  }

  /**
   * Asks the nodes it knows who the members are now (coordinators come and go), one after
   * another with a short deadline; keeps what it knew when none answers.
   */
  private async rediscover(): Promise<void> {
    for (const address of this.addresses) {
      try {
        const res = (await this.unary('Cluster', 'Members', address, {})) as {
          header: { leader_id: number };
          members: RawMember[];
        };
        this.learn(res.members.map(memberFromWire), res.header.leader_id);
        return;
      } catch {
        // the next one
      }
    }
  }

  private client(
    service: 'KV' | 'Watch' | 'Lease' | 'Cluster' | 'Maintenance',
    address: string,
  ): AnyClient {
    let byAddress = this.clients.get(service);
    if (!byAddress) {
      byAddress = new Map();
      this.clients.set(service, byAddress);
    }
    let c = byAddress.get(address);
    if (!c) {
      const Ctor = kvService(service);
      c = new Ctor(address, channelCredentials(this.security), {
        'grpc.initial_reconnect_backoff_ms': 100,
        'grpc.max_reconnect_backoff_ms': 1000,
        // A range answers whatever it holds (up to 1 MiB per value): not grpc's 4 MiB default.
        'grpc.max_receive_message_length': -1,
        ...channelOptions(this.security, address),
      }) as AnyClient;
      byAddress.set(address, c);
    }
    return c;
  }

  private async unary(
    service: 'KV' | 'Lease' | 'Cluster',
    method: string,
    address: string,
    req: unknown,
  ): Promise<unknown> {
    const client = this.client(service, address);
    // Unreachable (no connection within connectTimeoutMs): Unavailable, nothing was sent.
    await whenConnected(client, address, this.connectTimeoutMs);
    const kind = service === 'KV' ? STREAMED[method] : undefined;
    if (kind) return this.stream(address).request(kind, req, this.timeoutMs);
    return new Promise((resolve, reject) => {
      client[method]!(
        req,
        { deadline: Date.now() + this.timeoutMs },
        (err: unknown, res: unknown) => (err ? reject(err) : resolve(res)),
      );
    });
  }

  /** The request stream to `address`, reopened after it broke. */
  private stream(address: string): KvStream {
    let s = this.streams.get(address);
    if (!s || s.broken) {
      const client = this.client('KV', address);
      s = new KvStream(
        () => (client.Stream as () => ReturnType<KvStream['call']['on']>)() as never,
      );
      this.streams.set(address, s);
    }
    return s;
  }

  /**
   * One request with the retry policy: NotLeader redirects (the request was not applied),
   * Unavailable before sending or from a node without a leader (not applied) are retried
   * with backoff on another node; a timeout is retried only when `idempotent`.
   */
  private async call(
    service: 'KV' | 'Lease' | 'Cluster',
    method: string,
    req: unknown,
    opts: { anyNode?: boolean; idempotent?: boolean } = {},
  ): Promise<unknown> {
    const giveUpAt = Date.now() + this.retryForMs;
    for (let attempt = 0; ; attempt++) {
      const address =
        (!opts.anyNode && this.leader) || this.addresses[attempt % this.addresses.length]!;
      try {
        return await this.unary(service, method, address, req);
      } catch (err) {
        const e = fromGrpcError(err);
        const retry = this.mayRetry(attempt, giveUpAt);
        if (e instanceof NotLeaderError) {
          if (!retry) throw e;
          this.leader = e.leaderAddress;
          if (e.leaderAddress && !this.addresses.includes(e.leaderAddress)) await this.rediscover();
          if (!e.leaderAddress) await sleep(Math.min(500, 50 * 2 ** attempt));
          continue;
        }
        if (e instanceof UnavailableError) {
          if (!retry) throw e;
          this.leader = undefined;
          await sleep(Math.min(500, 50 * 2 ** attempt));
          continue;
        }
        if (e instanceof TimeoutError && opts.idempotent && retry) {
          this.leader = undefined;
          continue;
        }
        throw e;
      }
    }
  }

  /** Whether another try may follow try `attempt` (from 0). */
  private mayRetry(attempt: number, giveUpAt: number): boolean {
    return attempt < this.retries && Date.now() < giveUpAt;
  }
}
