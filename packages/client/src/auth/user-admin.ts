import { MAX_ITERATIONS, MIN_ITERATIONS, makeScramCredential, UserNameSchema } from '@strand/auth';
import { InvalidRequestError } from '@strand/wire';
import type { GroupClient } from '../groups/coordinator-client.js';

export type ScramMechanismName = 'SCRAM-SHA-256' | 'SCRAM-SHA-512';

export interface UserCredentialOptions {
  /** Default SCRAM-SHA-512. A user may have both; each call sets one. */
  mechanism?: ScramMechanismName;
  /** PBKDF2 iterations, 4096 (the default) to 16384. */
  iterations?: number;
}

export interface UserDescription {
  name: string;
  mechanisms: ScramMechanismName[];
}

function checkName(name: string): void {
  const r = UserNameSchema.safeParse(name);
  if (!r.success) throw new InvalidRequestError(`user name: ${r.error.issues[0]?.message}`);
}

/**
 * Users, managed on the coordinators' leader (super users only). The SCRAM credential (salt,
 * iterations, StoredKey, ServerKey) is made here: the password never leaves this process.
 */
export class UserAdmin {
  constructor(private readonly client: GroupClient) {}

  async upsert(
    name: string,
    password: string,
    opts: UserCredentialOptions & { createOnly?: boolean; updateOnly?: boolean },
  ): Promise<void> {
    checkName(name);
    if (!password) throw new InvalidRequestError('password: must not be empty');
    const mechanism = opts.mechanism ?? 'SCRAM-SHA-512';
    const iterations = opts.iterations ?? MIN_ITERATIONS;
    if (!Number.isInteger(iterations) || iterations < MIN_ITERATIONS || iterations > MAX_ITERATIONS)
      throw new InvalidRequestError(
        `iterations: ${MIN_ITERATIONS}..${MAX_ITERATIONS}, got ${iterations}`,
      );
    const c = makeScramCredential(mechanism, password, { iterations });
    await this.client.call('UpsertUser', {
      name,
      credential: {
        mechanism,
        salt: c.salt,
        iterations: c.iterations,
        stored_key: c.storedKey,
        server_key: c.serverKey,
      },
      create_only: opts.createOnly ?? false,
      update_only: opts.updateOnly ?? false,
    });
  }

  async delete(name: string): Promise<void> {
    checkName(name);
    await this.client.call('DeleteUser', { name });
  }

  async list(): Promise<UserDescription[]> {
    const r = await this.client.call<{ users: UserDescription[] }>('ListUsers', {});
    return r.users;
  }
}
