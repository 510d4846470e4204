import type * as grpc from '@grpc/grpc-js';
import type { KvNode } from '@strand/kv';
import {
  brokerInfo,
  brokerService,
  parseRequest,
  partitionInfo,
  topicInfo,
  unaryHandler,
} from '@strand/wire';
import { z } from 'zod';
import type { Controller, TopicChange } from './controller.js';

const u32 = z
  .number()
  .int()
  .min(0)
  .max(2 ** 32 - 1);
const configs = z.record(z.string(), z.string()).default({});

/** A broker's token: the secret in its data folder. */
const token = z
  .instanceof(Buffer)
  .refine((b) => b.length >= 16 && b.length <= 256, 'a broker token is 16..256 bytes');

const RegisterBroker = z.object({
  id: u32.min(1),
  cluster_id: z.string().max(64).default(''),
  token,
  address: z.string().regex(/^[^:\s]+:\d{1,5}$/, 'expected host:port'),
  incarnation: z.string().min(1).max(200),
  rack: z
    .string()
    .max(100)
    .regex(/^[\w.-]*$/, 'a rack is letters, digits, ".", "_" or "-"')
    .default(''),
  admin_url: z
    .string()
    .regex(/^(https?:\/\/[^\s/]+:\d{1,5})?$/, 'expected http://host:port or nothing')
    .default(''),
  kafka_address: z
    .string()
    .regex(/^([^:\s]+:\d{1,5})?$/, 'expected host:port')
    .default(''),
});
const Heartbeat = z.object({ id: u32.min(1), epoch: z.number().int().min(0), token });
const CreateTopic = z.object({
  name: z.string(),
  partitions: u32,
  replication_factor: u32,
  configs,
});
const DeleteTopic = z.object({ name: z.string() });
const ReassignPartition = z.object({
  topic: z.string().min(1),
  partition: u32,
  replicas: z.array(u32.min(1)).min(1).max(16),
});
const AlterPartition = z.object({
  broker_id: u32.min(1),
  broker_epoch: z.number().int().min(0),
  topic: z.string().min(1),
  partition: u32,
  leader_epoch: u32,
  partition_epoch: u32,
  new_isr: z.array(u32.min(1)).min(1),
  broker_token: token,
});
const AlterTopic = z.object({
  name: z.string(),
  set_configs: configs,
  delete_configs: z.array(z.string()).default([]),
  partitions: u32.default(0),
});

const changeOut = (c: TopicChange) => ({
  revision: c.revision,
  topic: topicInfo(c.topic, c.partitions),
});

/** The controller's gRPC face; every request is validated before the controller sees it. */
export function addControllerService(
  server: grpc.Server,
  controller: Controller,
  node: KvNode,
): void {
  server.addService(brokerService('Controller').service, {
    RegisterBroker: unaryHandler(async (raw) => {
      const r = parseRequest(RegisterBroker, raw);
      const b = await controller.registerBroker({
        id: r.id,
        address: r.address,
        incarnation: r.incarnation,
        rack: r.rack,
        adminUrl: r.admin_url,
        clusterId: r.cluster_id,
        token: r.token,
        kafkaAddress: r.kafka_address,
      });
      return {
        cluster_id: controller.opts.clusterId,
        epoch: b.epoch,
        heartbeat_interval_ms: controller.opts.heartbeatIntervalMs,
        session_timeout_ms: controller.opts.sessionTimeoutMs,
      };
    }),
    Heartbeat: unaryHandler((raw) => {
      const h = parseRequest(Heartbeat, raw);
      return { fenced: !controller.heartbeat(h.id, h.epoch, h.token) };
    }),
    ControlledShutdown: unaryHandler(async (raw) => {
      const h = parseRequest(Heartbeat, raw);
      return { leaderships: await controller.controlledShutdown(h.id, h.epoch, h.token) };
    }),
    CreateTopic: unaryHandler(async (raw) => {
      const c = parseRequest(CreateTopic, raw);
      return changeOut(
        await controller.createTopic({
          name: c.name,
          partitions: c.partitions || 1,
          replicationFactor: c.replication_factor || 1,
          configs: c.configs,
        }),
      );
    }),
    DeleteTopic: unaryHandler(async (raw) => {
      const { revision } = await controller.deleteTopic(parseRequest(DeleteTopic, raw).name);
      return { revision };
    }),
    AlterTopic: unaryHandler(async (raw) => {
      const a = parseRequest(AlterTopic, raw);
      return changeOut(
        await controller.alterTopic(a.name, {
          set: a.set_configs,
          delete: a.delete_configs,
          partitions: a.partitions,
        }),
      );
    }),
    AlterPartition: unaryHandler(async (raw) => {
      const a = parseRequest(AlterPartition, raw);
      const p = await controller.alterPartition({
        brokerId: a.broker_id,
        brokerEpoch: a.broker_epoch,
        brokerToken: a.broker_token,
        topic: a.topic,
        partition: a.partition,
        leaderEpoch: a.leader_epoch,
        partitionEpoch: a.partition_epoch,
        newIsr: a.new_isr,
      });
      return { partition: partitionInfo(p) };
    }),
    ReassignPartition: unaryHandler(async (raw) => {
      const r = parseRequest(ReassignPartition, raw);
      return changeOut(await controller.reassignPartition(r.topic, r.partition, r.replicas));
    }),
    InitProducerId: unaryHandler(async () => {
      const r = await controller.initProducerId();
      return { producer_id: r.producerId, producer_epoch: r.producerEpoch };
    }),
    DescribeCluster: unaryHandler(() => {
      const s = node.status();
      return {
        brokers: controller.brokers().map(brokerInfo),
        coordinators: s.members.map((m) => ({
          id: m.id,
          address: m.address,
          is_leader: m.id === s.leader,
        })),
        controller_id: s.leader,
        revision: s.revision,
        cluster_id: controller.opts.clusterId,
        malformed_records: controller.malformedRecords().map((m) => ({
          key: m.key,
          mod_revision: m.modRevision,
          error: m.error,
        })),
      };
    }),
  });
}
