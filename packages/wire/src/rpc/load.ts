import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/** Where the .proto files live (shipped with the package). */
export const PROTO_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'proto');

/**
 * Loads the KV protos. Numbers arrive as JS numbers (revisions and ids stay below 2^53),
 * bytes as Buffers, enums as strings, and absent fields get their defaults.
 */
function loadKvPackage(): grpc.GrpcObject {
  const definition = protoLoader.loadSync(join(PROTO_DIR, 'kv.proto'), {
    keepCase: true,
    longs: Number,
    enums: String,
    bytes: Buffer,
    defaults: true,
    oneofs: true,
  });
  return grpc.loadPackageDefinition(definition);
}

let cached: grpc.GrpcObject | undefined;

function kvPackage(): grpc.GrpcObject {
  cached ??= loadKvPackage();
  return ((cached.strand as grpc.GrpcObject).kv as grpc.GrpcObject).v1 as grpc.GrpcObject;
}

export type ServiceName = 'KV' | 'Watch' | 'Lease' | 'Cluster' | 'Raft';

export function kvService(name: ServiceName): grpc.ServiceClientConstructor {
  return kvPackage()[name] as grpc.ServiceClientConstructor;
}
