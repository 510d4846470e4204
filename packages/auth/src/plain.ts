import { AuthenticationFailedError } from '@strand/wire';

/** A PLAIN message (RFC 4616): `[authzid] NUL authcid NUL passwd`. */
export interface PlainMessage {
  authzid: string;
  username: string;
  password: string;
}

const MAX_PLAIN = 1024;

export function parsePlain(message: Buffer): PlainMessage {
  if (message.length > MAX_PLAIN)
    throw new AuthenticationFailedError('malformed PLAIN message: too long');
  const parts = message.toString('utf8').split('\0');
  if (parts.length !== 3 || !parts[1] || !parts[2])
    throw new AuthenticationFailedError(
      'malformed PLAIN message: expected authzid, user and password separated by NUL',
    );
  const [authzid, username, password] = parts as [string, string, string];
  if (authzid && authzid !== username)
    throw new AuthenticationFailedError('the authorization id must be the user name');
  return { authzid, username, password };
}

export const encodePlain = (username: string, password: string): Buffer =>
  Buffer.from(`\0${username}\0${password}`, 'utf8');
