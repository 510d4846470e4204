import type * as grpc from '@grpc/grpc-js';
import {
  brokerInfo,
  brokerService,
  parseRequest,
  toErrorFields,
  toGrpcError,
  topicInfo,
  UnknownTopicError,
  unaryHandler,
} from '@strand/wire';
import type { BrokerMetrics } from './broker-metrics.js';
import type { ControllerClient } from './controller-client.js';
import type { DataPlane } from './data-plane.js';
import { FETCH_LEASE, type FetchMemory } from './fetch-memory.js';
import { serveFetchStream } from './fetch-stream.js';
import type { MetadataCache } from './metadata.js';
import {
  EpochEndRequest,
  FetchRequest,
  ListOffsetsRequest,
  MetadataRequest,
  ProduceRequest,
} from './requests.js';
import type { TopicAdmin } from './topic-admin.js';

export interface BrokerServiceDeps {
  brokerId: number;
  data: DataPlane;
  meta: MetadataCache;
  admin: TopicAdmin;
  controller: ControllerClient;
  fetchMemory: FetchMemory;
  /** This broker's gauges (the Stats call). */
  stats: () => Record<string, number>;
  metrics: BrokerMetrics;
  /** Throws unless the caller may make this produce (each message of a ProduceStream). */
  authorizeProduce: (metadata: grpc.Metadata, request: ProduceRequest) => void;
  /** Throws unless the caller may make this fetch (each message of a FetchStream). */
  authorizeFetch: (metadata: grpc.Metadata, request: FetchRequest) => void;
}

export function addBrokerService(server: grpc.Server, deps: BrokerServiceDeps): void {
  const { data, meta, admin, controller } = deps;
  /** A handler whose refusals are counted by API and error code. */
  const unary = (api: string, fn: (raw: unknown) => unknown) =>
    unaryHandler(async (raw) => {
      try {
        return await fn(raw);
      } catch (err) {
        deps.metrics.error(api, toErrorFields(err));
        throw err;
      }
    });

  /** A stream's messages are checked here; a unary Produce was by the interceptor. */
  const produce = async (raw: unknown, streamed?: grpc.Metadata) => {
    const req = parseRequest(ProduceRequest, raw);
    if (streamed) deps.authorizeProduce(streamed, req);
    return { id: req.id, partitions: await data.produce(req) };
  };

  const forward = (
    method: 'CreateTopic' | 'DeleteTopic' | 'AlterTopic' | 'ReassignPartition',
    raw: unknown,
  ) => admin.forward(method, raw);

  server.addService(brokerService('Broker').service, {
    Produce: unary('Produce', (raw) => produce(raw)),
    ProduceStream: (call: grpc.ServerDuplexStream<{ id?: number; acks?: number }, unknown>) => {
      call.on('data', (raw: { id?: number; acks?: number }) => {
        produce(raw, call.metadata).then(
          (res) => {
            if (raw.acks !== 0 && !call.cancelled) call.write(res);
          },
          (err: unknown) => {
            const error = toErrorFields(err);
            deps.metrics.error('Produce', error);
            if (!call.cancelled) call.write({ id: raw.id ?? 0, partitions: [], error });
          },
        );
      });
      call.on('end', () => call.end());
      call.on('error', () => undefined);
    },
    // The answer carries its lease: the records stay counted until they have been sent.
    Fetch: (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      const lease = deps.fetchMemory.lease(call.getPeer());
      Promise.resolve()
        .then(() => data.fetch(parseRequest(FetchRequest, call.request), lease))
        .then(
          (partitions) => cb(null, { partitions, [FETCH_LEASE]: lease }),
          (err: unknown) => {
            lease.release();
            deps.metrics.error('Fetch', toErrorFields(err));
            cb(toGrpcError(err));
          },
        );
    },
    FetchStream: (call: grpc.ServerDuplexStream<unknown, unknown>) => serveFetchStream(deps, call),
    ListOffsets: unary('ListOffsets', async (raw) => {
      const req = parseRequest(ListOffsetsRequest, raw);
      const partitions = await Promise.all(
        req.partitions.map(async (p) => {
          try {
            return {
              topic: p.topic,
              partition: p.partition,
              ...(await data.listOffset(p.topic, p.partition, p.spec, p.timestamp)),
            };
          } catch (err) {
            return {
              topic: p.topic,
              partition: p.partition,
              offset: -1,
              error: toErrorFields(err),
            };
          }
        }),
      );
      return { partitions };
    }),
    Metadata: unary('Metadata', async (raw) => {
      const req = parseRequest(MetadataRequest, raw);
      await admin.catchUp(req.topics);
      const names = req.topics.length > 0 ? req.topics : [...meta.topics.keys()].sort();
      return {
        brokers: [...meta.brokers.values()].map(brokerInfo),
        topics: names.map((name) => {
          const t = meta.topics.get(name);
          if (!t) return { name, error: toErrorFields(new UnknownTopicError(name)) };
          return topicInfo(t, meta.partitions.get(name)?.values() ?? []);
        }),
        answered_by: deps.brokerId,
        revision: meta.revision,
      };
    }),
    CreateTopic: unary('CreateTopic', (raw) => forward('CreateTopic', raw)),
    ReassignPartition: unary('ReassignPartition', (raw) => forward('ReassignPartition', raw)),
    AlterTopic: unary('AlterTopic', (raw) => forward('AlterTopic', raw)),
    DeleteTopic: unary('DeleteTopic', (raw) => forward('DeleteTopic', raw)),
    EpochEnd: unary('EpochEnd', (raw) => {
      const r = parseRequest(EpochEndRequest, raw);
      try {
        return data.epochEnd(r.topic, r.partition, r.leader_epoch, r.current_leader_epoch);
      } catch (err) {
        return { leader_epoch: 0, end_offset: -1, error: toErrorFields(err) };
      }
    }),
    InitProducerId: unary('InitProducerId', (raw) =>
      controller.call('InitProducerId', raw ?? {}, { attempts: 8 }),
    ),
    DescribeCluster: unary('DescribeCluster', (raw) =>
      controller.call('DescribeCluster', raw ?? {}, { attempts: 4 }),
    ),
    Stats: unaryHandler(() => deps.stats()),
  });
}
