import { createHash, randomBytes } from 'node:crypto';
import { InvalidRequestError } from '@strand/wire';
import { z } from 'zod';
import { type AclBinding, AclBindingSchema } from './acl.js';
import {
  MAX_ITERATIONS,
  MIN_ITERATIONS,
  SCRAM_MECHANISMS,
  type ScramCredential,
  type ScramMechanism,
} from './scram.js';

/**
 * Where users, ACLs and the token key live in the KV store: under `/strand/`, which only the
 * coordinators write. Users' credentials and the token key are secrets: only nodes read them.
 */
export const SecurityKeys = {
  users: '/strand/users/',
  user: (name: string) => `/strand/users/${name}`,
  acls: '/strand/acls/',
  acl: (id: string) => `/strand/acls/${id}`,
  tokenKey: '/strand/security/token-key',
  /** Every key only nodes may read. */
  secretPrefixes: ['/strand/users/', '/strand/security/'],
} as const;

/** User names: what SCRAM clients send and principals carry. */
export const UserNameSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9._@+-]{1,128}$/,
    'a user name is 1..128 letters, digits, ".", "_", "@", "+" or "-"',
  );

const b64 = z
  .string()
  .max(512)
  .transform((s) => Buffer.from(s, 'base64'));

const CredentialSchema = z.object({
  salt: b64,
  iterations: z.number().int().min(MIN_ITERATIONS).max(MAX_ITERATIONS),
  storedKey: b64,
  serverKey: b64,
});

export const UserRecordSchema = z.object({
  name: UserNameSchema,
  /** Made at creation: a token names it, so one of a deleted user never counts for a new one. */
  id: z.string().min(1).max(64),
  credentials: z.partialRecord(z.enum(SCRAM_MECHANISMS), CredentialSchema),
});
export type UserRecord = z.output<typeof UserRecordSchema>;

const credentialOut = (c: ScramCredential) => ({
  salt: c.salt.toString('base64'),
  iterations: c.iterations,
  storedKey: c.storedKey.toString('base64'),
  serverKey: c.serverKey.toString('base64'),
});

export function encodeUser(u: UserRecord): Buffer {
  const credentials: Record<string, unknown> = {};
  for (const [m, c] of Object.entries(u.credentials)) if (c) credentials[m] = credentialOut(c);
  return Buffer.from(JSON.stringify({ name: u.name, id: u.id, credentials }));
}

export const newUserId = (): string => randomBytes(12).toString('hex');

export function userWith(
  existing: UserRecord | undefined,
  name: string,
  mechanism: ScramMechanism,
  credential: ScramCredential,
): UserRecord {
  return {
    name,
    id: existing?.id ?? newUserId(),
    credentials: { ...existing?.credentials, [mechanism]: credential },
  };
}

/** A binding's key: a hash of its fields, so creating the same ACL twice keeps one. */
export function aclId(b: AclBinding): string {
  const canonical = JSON.stringify([
    b.resourceType,
    b.patternType,
    b.name,
    b.principal,
    b.host,
    b.operation,
    b.permission,
  ]);
  return createHash('sha256').update(canonical).digest('hex').slice(0, 32);
}

export const encodeAcl = (b: AclBinding): Buffer => Buffer.from(JSON.stringify(b));

const TokenKeySchema = z.object({ secret: b64.refine((b) => b.length >= 32) });
export const encodeTokenKey = (secret: Buffer): Buffer =>
  Buffer.from(JSON.stringify({ secret: secret.toString('base64') }));

export function decodeRecord<T>(schema: z.ZodType<T>, key: string, value: Buffer): T {
  let json: unknown;
  try {
    json = JSON.parse(value.toString());
  } catch {
    throw new InvalidRequestError(`${key}: not JSON`);
  }
  const r = schema.safeParse(json);
  if (!r.success) throw new InvalidRequestError(`${key}: ${r.error.issues[0]?.message}`);
  return r.data;
}

export const decodeUser = (key: string, value: Buffer) =>
  decodeRecord(UserRecordSchema, key, value);
export const decodeAcl = (key: string, value: Buffer) => decodeRecord(AclBindingSchema, key, value);
export const decodeTokenKey = (key: string, value: Buffer) =>
  decodeRecord(TokenKeySchema, key, value).secret;
