import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/** Where the .proto files live (shipped with the package). */
export const PROTO_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'proto');

const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  bytes: Buffer,
  defaults: true,
  oneofs: true,
};

/**
 * Loads the KV protos. Numbers arrive as JS numbers (revisions and ids stay below 2^53),
 * bytes as Buffers, enums as strings, and absent fields get their defaults.
 */
function loadKvPackage(): grpc.GrpcObject {
  const definition = protoLoader.loadSync(join(PROTO_DIR, 'kv.proto'), LOADER_OPTIONS);
  return grpc.loadPackageDefinition(definition);
}

let cached: grpc.GrpcObject | undefined;

function kvPackage(): grpc.GrpcObject {
  cached ??= loadKvPackage();
  return ((cached.strand as grpc.GrpcObject).kv as grpc.GrpcObject).v1 as grpc.GrpcObject;
}

export type ProtoFile = 'kv.proto' | 'broker.proto' | 'group.proto' | 'security.proto';

/**
 * A proto file's message and service descriptors as the loader reads them, for tools that
 * walk the messages (the abuse suites build hostile requests from them).
 */
export function protoDefinition(file: ProtoFile): protoLoader.PackageDefinition {
  return protoLoader.loadSync(join(PROTO_DIR, file), LOADER_OPTIONS);
}

export type ServiceName = 'KV' | 'Watch' | 'Lease' | 'Cluster' | 'Maintenance' | 'Raft';

export function kvService(name: ServiceName): grpc.ServiceClientConstructor {
  return kvPackage()[name] as grpc.ServiceClientConstructor;
}

const loaded = new Map<string, grpc.GrpcObject>();

/** `strand.<name>.v1` of `<name>.proto`, loaded once, like the KV protos. */
function protoPackage(name: 'broker' | 'group' | 'security'): grpc.GrpcObject {
  let root = loaded.get(name);
  if (!root) {
    root = grpc.loadPackageDefinition(
      protoLoader.loadSync(join(PROTO_DIR, `${name}.proto`), LOADER_OPTIONS),
    );
    loaded.set(name, root);
  }
  return ((root.strand as grpc.GrpcObject)[name] as grpc.GrpcObject).v1 as grpc.GrpcObject;
}

export type BrokerServiceName = 'Broker' | 'Controller';

/** The topic API protos (broker.proto): offsets as JS numbers. */
export function brokerService(name: BrokerServiceName): grpc.ServiceClientConstructor {
  return protoPackage('broker')[name] as grpc.ServiceClientConstructor;
}

export type GroupServiceName = 'GroupCoordinator';

/** The consumer group protos (group.proto). */
export function groupService(name: GroupServiceName): grpc.ServiceClientConstructor {
  return protoPackage('group')[name] as grpc.ServiceClientConstructor;
}

export type SecurityServiceName = 'Auth' | 'Security';

/** Authentication and user admin (security.proto). */
export function securityService(name: SecurityServiceName): grpc.ServiceClientConstructor {
  return protoPackage('security')[name] as grpc.ServiceClientConstructor;
}
