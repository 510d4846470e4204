import type { AclBinding } from './acl.js';
import { decodeAcl, decodeTokenKey, decodeUser, SecurityKeys, type UserRecord } from './records.js';

export type SecurityChange =
  | { t: 'user'; name: string; user: UserRecord | undefined; previous: UserRecord | undefined }
  | { t: 'acls' }
  | { t: 'tokenKey' };

/**
 * A node's copy of the users, the ACLs and the token key, kept from the KV store's records
 * (a watch on `/strand/`, or the coordinator's own state machine): `apply` takes each key as
 * it changes. A record that does not parse is reported and left out, never half-applied.
 */
export class SecurityState {
  readonly users = new Map<string, UserRecord>();
  readonly acls = new Map<string, AclBinding>();
  tokenKey: Buffer | undefined;
  private readonly listeners: Array<(c: SecurityChange) => void> = [];

  constructor(private readonly onMalformed: (key: string, error: string) => void = () => {}) {}

  /** Whether `key` is one of ours (the caller may skip the others cheaply). */
  static concerns(key: string): boolean {
    return (
      key.startsWith(SecurityKeys.users) ||
      key.startsWith(SecurityKeys.acls) ||
      key === SecurityKeys.tokenKey
    );
  }

  onChange(listener: (c: SecurityChange) => void): void {
    this.listeners.push(listener);
  }

  /** The record at `key` is now `value` (undefined: deleted). */
  apply(key: string, value: Buffer | undefined): void {
    const change = this.change(key, value);
    if (change) for (const l of this.listeners) l(change);
  }

  private change(key: string, value: Buffer | undefined): SecurityChange | undefined {
    try {
      if (key.startsWith(SecurityKeys.users)) {
        const name = key.slice(SecurityKeys.users.length);
        const previous = this.users.get(name);
        const user = value ? decodeUser(key, value) : undefined;
        if (user) this.users.set(name, user);
        else this.users.delete(name);
        return { t: 'user', name, user, previous };
      }
      if (key.startsWith(SecurityKeys.acls)) {
        const id = key.slice(SecurityKeys.acls.length);
        if (value) this.acls.set(id, decodeAcl(key, value));
        else this.acls.delete(id);
        return { t: 'acls' };
      }
      if (key === SecurityKeys.tokenKey) {
        this.tokenKey = value ? decodeTokenKey(key, value) : undefined;
        return { t: 'tokenKey' };
      }
    } catch (err) {
      this.onMalformed(key, (err as Error).message);
    }
    return undefined;
  }
}
