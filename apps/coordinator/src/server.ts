import * as grpc from '@grpc/grpc-js';
import { intersects, keyRange, prefixRange, SecurityKeys } from '@strand/auth';
import {
  type KeyValue,
  type KvCommand,
  type KvNode,
  type KvResult,
  prefixEnd,
  type WatchEvent,
} from '@strand/kv';
import {
  AuthorizationFailedError,
  CompactedError,
  ErrorCode,
  InvalidRequestError,
  kvService,
  parseRequest,
  StrandError,
  toErrorFields,
  toGrpcError,
  UnavailableError,
  unaryHandler,
} from '@strand/wire';
import { clusterHandlers } from './members-service.js';
import {
  CompactRequest,
  LeaseGrantRequest,
  LeaseIdRequest,
  RangeRequest,
  rangeEnd,
  TxnRequest,
  toDelete,
  toPut,
  toTxn,
  WatchRequest,
} from './requests.js';

type StreamRequest = { id: number; request?: string } & Record<string, unknown>;

const kvOut = (kv: KeyValue) => ({
  key: kv.key,
  value: kv.value,
  create_revision: kv.createRevision,
  mod_revision: kv.modRevision,
  version: kv.version,
  lease: kv.lease,
});

/** A KvResult that reports a failure becomes the matching typed error. */
function check(r: KvResult): Exclude<KvResult, { t: 'error' }> {
  if (r.t !== 'error') return r;
  if (r.code === ErrorCode.Compacted) throw new CompactedError(0);
  throw new StrandError(r.code as ErrorCode, r.message);
}

const SECRET_RANGES = SecurityKeys.secretPrefixes.map((p) => prefixRange(Buffer.from(p)));

const MAX_WATCH_BACKLOG = 16 * 1024 * 1024;

/** What the KV service asks of the node's security (everything allowed without). */
export interface KvAccess {
  /** Whether the caller of a call with `metadata` may read `key` (secrets are for nodes only). */
  readable(metadata: grpc.Metadata, key: Buffer): boolean;
  /** Throws unless the caller may make one request of the KV service's stream. */
  authorizeStreamed(metadata: grpc.Metadata, request: StreamRequest): void;
  /** Who a lease the caller grants belongs to (undefined: no one, without authentication). */
  leaseOwner(metadata: grpc.Metadata): string | undefined;
}

const OPEN_ACCESS: KvAccess = {
  readable: () => true,
  authorizeStreamed: () => {},
  leaseOwner: () => undefined,
};

export function createServer(
  node: KvNode,
  options: grpc.ServerOptions = {},
  /** What Members answers about this node: its admin listener ('' for none), its cluster. */
  about: { adminUrl: string; clusterId: string } = { adminUrl: '', clusterId: '' },
  access: KvAccess = OPEN_ACCESS,
): grpc.Server {
  const { readable } = access;
  const header = () => {
    const s = node.header();
    return {
      member_id: s.id,
      leader_id: s.leader,
      term: s.term,
      revision: s.revision,
      applied_index: s.applied,
    };
  };
  const read = async (consistency: 'LINEARIZABLE' | 'STALE') => {
    if (consistency === 'LINEARIZABLE') await node.linearizable();
  };
  const propose = async (cmd: KvCommand) => check(await node.propose(cmd));
  /** Whether [key, end) (just `key` without an end) reaches keys the caller may not read. */
  const hidesSecrets = (md: grpc.Metadata, key: Buffer, end: Buffer | undefined) =>
    SECRET_RANGES.some(
      (secret) =>
        !readable(md, secret.start) &&
        intersects(secret, end ? { start: key, end } : keyRange(key)),
    );
  // Keys the caller may not read are left out of what it is answered, as if absent.
  const visible = (md: grpc.Metadata, kvs: KeyValue[]) => kvs.filter((kv) => readable(md, kv.key));
  /**
   * A range that reaches keys the caller may not read, read whole (`kvs`): they are not
   * counted either (a count of /strand/users/ would say how many users there are), so what is
   * left is counted, then limited.
   */
  const visibleRange = (md: grpc.Metadata, kvs: KeyValue[], limit: number) => {
    const all = visible(md, kvs);
    const cut = limit > 0 ? all.slice(0, limit) : all;
    return { kvs: cut.map(kvOut), count: all.length, more: cut.length < all.length };
  };
  /** `limit`: the get ran whole for hidden keys (see Txn), and is cut to this limit here. */
  const resultOut = (r: KvResult, md: grpc.Metadata, limit?: number): unknown => {
    switch (r.t) {
      case 'get':
        return {
          range: {
            header: header(),
            ...(limit === undefined
              ? { kvs: r.kvs.map(kvOut), count: r.count, more: r.more }
              : visibleRange(md, r.kvs, limit)),
          },
        };
      case 'put':
        return { put: { header: header(), prev_kv: r.prevKv ? kvOut(r.prevKv) : null } };
      case 'del':
        return {
          delete_range: { header: header(), deleted: r.deleted, prev_kvs: r.prevKvs.map(kvOut) },
        };
      default:
        return {};
    }
  };

  const server = new grpc.Server({
    ...options,
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
  });
  const kv = {
    Range: async (raw: unknown, md: grpc.Metadata) => {
      const r = parseRequest(RangeRequest, raw);
      await read(r.consistency);
      const out = node.sm.range(r.key, rangeEnd(r), r.limit);
      if (!hidesSecrets(md, r.key, rangeEnd(r)))
        return { header: header(), kvs: out.kvs.map(kvOut), count: out.count, more: out.more };
      return {
        header: header(),
        ...visibleRange(md, node.sm.range(r.key, rangeEnd(r), 0).kvs, r.limit),
      };
    },
    Put: async (raw: unknown) => {
      const r = await propose(toPut(raw));
      return { header: header(), prev_kv: r.t === 'put' && r.prevKv ? kvOut(r.prevKv) : null };
    },
    DeleteRange: async (raw: unknown) => {
      const r = await propose(toDelete(raw));
      return r.t === 'del'
        ? { header: header(), deleted: r.deleted, prev_kvs: r.prevKvs.map(kvOut) }
        : { header: header() };
    },
    Txn: async (raw: unknown, md: grpc.Metadata) => {
      const txn = parseRequest(TxnRequest, raw);
      // A compare answers whether a key exists: one the caller may not read is refused.
      for (const c of txn.compare)
        if (!readable(md, c.key))
          throw new AuthorizationFailedError(
            ErrorCode.KeyAuthorizationFailed,
            `a txn may not compare "${c.key}": only nodes may read it`,
          );
      const cmd = toTxn(txn);
      // A get that reaches keys the caller may not read runs whole, and is cut as Range is:
      // `cuts` holds its own limit (undefined: answered as it ran).
      const cuts = { success: [] as (number | undefined)[], failure: [] as (number | undefined)[] };
      for (const branch of ['success', 'failure'] as const)
        cmd[branch] = cmd[branch].map((op) => {
          const hides = op.t === 'get' && hidesSecrets(md, op.key, op.end);
          cuts[branch].push(hides ? (op.limit ?? 0) : undefined);
          return hides ? { ...op, limit: 0 } : op;
        });
      const r = await propose(cmd);
      if (r.t !== 'txn') throw new InvalidRequestError('unexpected result');
      const cut = cuts[r.succeeded ? 'success' : 'failure'];
      return {
        header: header(),
        succeeded: r.succeeded,
        responses: r.responses.map((x, i) => resultOut(x, md, cut[i])),
      };
    },
  };
  const streamed = {
    range: kv.Range,
    put: kv.Put,
    delete_range: kv.DeleteRange,
    txn: kv.Txn,
  } as const;
  const withMetadata =
    (fn: (raw: unknown, md: grpc.Metadata) => Promise<unknown>) =>
    (call: { request: unknown; metadata: grpc.Metadata }, cb: grpc.sendUnaryData<unknown>) =>
      unaryHandler((raw) => fn(raw, call.metadata))(call, cb);
  server.addService(kvService('KV').service, {
    Range: withMetadata(kv.Range),
    Put: unaryHandler(kv.Put),
    DeleteRange: unaryHandler(kv.DeleteRange),
    Txn: withMetadata(kv.Txn),
    Compact: unaryHandler(async (raw) => {
      await propose({ t: 'compact', revision: parseRequest(CompactRequest, raw).revision });
      return { header: header() };
    }),
    Stream: (call: grpc.ServerDuplexStream<{ requests: StreamRequest[] }, unknown>) => {
      // Answers made in one turn of the event loop go back in one message.
      let outgoing: unknown[] = [];
      const send = (response: unknown) => {
        outgoing.push(response);
        if (outgoing.length > 1) return;
        setImmediate(() => {
          const responses = outgoing;
          outgoing = [];
          if (!call.cancelled) call.write({ responses });
        });
      };
      call.on('data', (batch: { requests: StreamRequest[] }) => {
        for (const req of batch.requests) {
          const kind = req.request as keyof typeof streamed | undefined;
          const handler = kind ? streamed[kind] : undefined;
          let answer: Promise<unknown>;
          try {
            if (!handler) throw new InvalidRequestError('stream request has no operation');
            access.authorizeStreamed(call.metadata, req);
            answer = handler(req[kind!], call.metadata);
          } catch (err) {
            answer = Promise.reject(err);
          }
          answer.then(
            (res) => send({ id: req.id, [kind!]: res }),
            (err: unknown) => send({ id: req.id, error: toErrorFields(err) }),
          );
        }
      });
      call.on('end', () => call.end());
      call.on('error', () => undefined);
    },
  });
  server.addService(kvService('Watch').service, {
    Watch: (call: grpc.ServerWritableStream<unknown, unknown>) => {
      let cancel: (() => void) | undefined;
      const fail = (err: unknown) => {
        cancel?.();
        call.emit('error', toGrpcError(err));
      };
      let w: ReturnType<typeof parseRequest<typeof WatchRequest>>;
      try {
        w = parseRequest(WatchRequest, call.request);
      } catch (err) {
        fail(err);
        return;
      }
      const send = (all: WatchEvent[]) => {
        const events = all.filter((e) => readable(call.metadata, e.kv.key));
        if (events.length === 0) return;
        if (call.writableLength > MAX_WATCH_BACKLOG) {
          fail(
            new UnavailableError(
              'watcher too slow: backlog exceeded, resume from the last revision seen',
            ),
          );
          return;
        }
        call.write({
          header: header(),
          events: events.map((e) => ({
            type: e.type === 'put' ? 'PUT' : 'DELETE',
            kv: kvOut(e.kv),
            prev_kv: e.prevKv ? kvOut(e.prevKv) : null,
          })),
        });
      };
      const end = w.prefix ? prefixEnd(w.key) : w.range_end.length > 0 ? w.range_end : undefined;
      node.sm.watch(w.key, end, w.start_revision, send).then((c) => {
        cancel = c;
        // An empty first message tells the client the watch is live.
        call.write({ header: header(), events: [] });
        if (call.cancelled) c();
      }, fail);
      call.on('cancelled', () => cancel?.());
      call.on('close', () => cancel?.());
    },
  });
  server.addService(kvService('Lease').service, {
    LeaseGrant: withMetadata(async (raw, md) => {
      const g = parseRequest(LeaseGrantRequest, raw);
      const lease = await node.leaseGrant(g.ttl_ms, g.id, access.leaseOwner(md));
      return { header: header(), id: lease.id, ttl_ms: lease.ttlMs };
    }),
    LeaseRevoke: unaryHandler(async (raw) => {
      await propose({ t: 'leaseRevoke', id: parseRequest(LeaseIdRequest, raw).id });
      return { header: header() };
    }),
    LeaseKeepAlive: unaryHandler(async (raw) => {
      const lease = node.leaseKeepAlive(parseRequest(LeaseIdRequest, raw).id);
      return { header: header(), id: lease.id, ttl_ms: lease.ttlMs };
    }),
    LeaseLeases: unaryHandler(async () => ({
      header: header(),
      leases: node.leases().map((l) => ({
        id: l.id,
        ttl_ms: l.ttlMs,
        remaining_ms: l.remainingMs,
        keys: l.keys,
      })),
    })),
  });
  server.addService(kvService('Cluster').service, clusterHandlers(node, header, about));
  return server;
}
