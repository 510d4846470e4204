import type * as grpc from '@grpc/grpc-js';
import type { z } from 'zod';
import { InvalidRequestError } from '../errors/errors.js';
import { toGrpcError } from './errors.js';

export type UnaryHandler = (call: { request: unknown }, cb: grpc.sendUnaryData<unknown>) => void;

/** A unary gRPC handler from a function: whatever it throws goes back as a status, never a crash. */
export function unaryHandler(fn: (request: unknown) => unknown): UnaryHandler {
  return (call, cb) => {
    Promise.resolve()
      .then(() => fn(call.request))
      .then(
        (res) => cb(null, res),
        (err: unknown) => cb(toGrpcError(err)),
      );
  };
}

/** Validates a decoded request; the first problem becomes an InvalidRequestError naming its field. */
export function parseRequest<T extends z.ZodTypeAny>(schema: T, value: unknown): z.infer<T> {
  const r = schema.safeParse(value);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new InvalidRequestError(`${i?.path.join('.') || 'request'}: ${i?.message ?? 'invalid'}`);
  }
  return r.data;
}
