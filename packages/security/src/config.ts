import { commaList } from '@strand/wire';
import { z } from 'zod';

/** Who may connect: anyone (`none`, the default), or authenticated principals only. */
export const AUTHENTICATION = ['none', 'required'] as const;

const principal = z
  .string()
  .regex(/^User:[^,\s]{1,128}$/, 'a principal is User:<name> (a user, or a certificate CN)');

/** The authentication settings both apps take (flags, environment, config file). */
export const AuthConfigShape = {
  authentication: z.enum(AUTHENTICATION).default('none'),
  /** Principals that may do anything: the nodes' certificate names, and an admin. */
  superUsers: z.array(principal).default([]),
  /**
   * Kafka's allow.everyone.if.no.acl.found: with authentication required, every request is
   * checked against the ACLs, and a resource no ACL names is refused unless this is true.
   */
  allowEveryoneIfNoAclFound: z
    .union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')])
    .default(false),
  /** How long a session token lasts (the SDK renews it before). */
  tokenTtlMs: z.coerce.number().int().min(10_000).max(86_400_000).default(600_000),
};

export const AUTH_FLAGS = [
  { key: 'authentication', flag: 'authentication', env: 'STRAND_AUTHENTICATION' },
  { key: 'superUsers', flag: 'super-users', env: 'STRAND_SUPER_USERS', parse: commaList },
  { key: 'tokenTtlMs', flag: 'token-ttl-ms' },
  { key: 'allowEveryoneIfNoAclFound', flag: 'allow-everyone-if-no-acl-found' },
] as const;

export interface AuthConfig {
  authentication: (typeof AUTHENTICATION)[number];
  superUsers: string[];
  tokenTtlMs: number;
  allowEveryoneIfNoAclFound: boolean;
  tlsCert?: string | undefined;
}

/** What is wrong with the settings as a whole, if anything. */
export function authConfigProblem(c: AuthConfig): string | undefined {
  if (c.authentication === 'none') return undefined;
  if (!c.tlsCert)
    return '--authentication required needs TLS (--tls-cert, --tls-key, --tls-ca): passwords and tokens travel over TLS only';
  if (c.superUsers.length === 0)
    return '--authentication required needs --super-users: the nodes’ certificate names (User:<CN>) and an admin, or no one could manage users and the nodes could not read them';
  return undefined;
}
