import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { AuthenticationFailedError, InvalidRequestError } from '@strand/wire';

/**
 * SCRAM (RFC 5802) with SHA-256 (RFC 7677) and SHA-512, as Kafka offers them. Passwords and
 * user names are used as their UTF-8 bytes, without SASLprep: Kafka and its clients (the JVM
 * client, librdkafka, KafkaJS) do the same, so a credential made here matches what they send.
 */
export const SCRAM_MECHANISMS = ['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;
export type ScramMechanism = (typeof SCRAM_MECHANISMS)[number];

/** Kafka's bounds on a credential's iteration count (the RFC's floor, Kafka's ceiling). */
export const MIN_ITERATIONS = 4096;
export const MAX_ITERATIONS = 16384;

/** The hash behind a mechanism. SHA-1 exists only to check the code against RFC 5802's example. */
export type ScramHash = 'sha1' | 'sha256' | 'sha512';
const HASH: Record<ScramMechanism, ScramHash> = {
  'SCRAM-SHA-256': 'sha256',
  'SCRAM-SHA-512': 'sha512',
};
const LENGTH: Record<ScramHash, number> = { sha1: 20, sha256: 32, sha512: 64 };

export const isScramMechanism = (m: string): m is ScramMechanism =>
  (SCRAM_MECHANISMS as readonly string[]).includes(m);

/** What the server keeps for a user and mechanism: never the password. */
export interface ScramCredential {
  salt: Buffer;
  iterations: number;
  storedKey: Buffer;
  serverKey: Buffer;
}

const hmac = (hash: ScramHash, key: Buffer, text: string | Buffer) =>
  createHmac(hash, key).update(text).digest();
const digest = (hash: ScramHash, data: Buffer) => createHash(hash).update(data).digest();
const xor = (a: Buffer, b: Buffer) => Buffer.from(a.map((x, i) => x ^ (b[i] ?? 0)));

function checkIterations(iterations: number): void {
  if (!Number.isInteger(iterations) || iterations < MIN_ITERATIONS || iterations > MAX_ITERATIONS)
    throw new InvalidRequestError(
      `SCRAM iterations must be ${MIN_ITERATIONS}..${MAX_ITERATIONS}, not ${iterations}`,
    );
}

/** Hi(password, salt, i): PBKDF2 with the mechanism's HMAC. */
export function saltedPassword(
  hash: ScramHash,
  password: string,
  salt: Buffer,
  iterations: number,
): Buffer {
  return pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, LENGTH[hash], hash);
}

/** The stored and server keys from a salted password (what Kafka's admin API sends). */
export function credentialFromSalted(
  hash: ScramHash,
  salted: Buffer,
  salt: Buffer,
  iterations: number,
): ScramCredential {
  return {
    salt,
    iterations,
    storedKey: digest(hash, hmac(hash, salted, 'Client Key')),
    serverKey: hmac(hash, salted, 'Server Key'),
  };
}

/** A new credential for `password`: a random salt, `iterations` (default 4096) rounds. */
export function makeScramCredential(
  mechanism: ScramMechanism,
  password: string,
  opts: { iterations?: number; salt?: Buffer } = {},
): ScramCredential {
  const iterations = opts.iterations ?? MIN_ITERATIONS;
  checkIterations(iterations);
  const salt = opts.salt ?? randomBytes(32);
  const hash = HASH[mechanism];
  return credentialFromSalted(
    hash,
    saltedPassword(hash, password, salt, iterations),
    salt,
    iterations,
  );
}

/** Whether `password` is the one `credential` was made from (PLAIN checks passwords this way). */
export function passwordMatches(
  mechanism: ScramMechanism,
  credential: ScramCredential,
  password: string,
): boolean {
  const hash = HASH[mechanism];
  const salted = saltedPassword(hash, password, credential.salt, credential.iterations);
  const { storedKey } = credentialFromSalted(hash, salted, credential.salt, credential.iterations);
  return safeEqual(storedKey, credential.storedKey);
}

export function safeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** `=2C` and `=3D` stand for ',' and '=' in a SCRAM user name (RFC 5802 §5.1). */
export const encodeSaslName = (name: string) => name.replace(/=/g, '=3D').replace(/,/g, '=2C');
function decodeSaslName(text: string): string {
  if (/=(?!2C|3D)/.test(text)) throw bad('bad escape in the user name');
  return text.replace(/=2C/g, ',').replace(/=3D/g, '=');
}

const MAX_MESSAGE = 4096;
/** A nonce: printable ASCII except ','. */
const NONCE = /^[\x21-\x2b\x2d-\x7e]{1,255}$/;
const bad = (why: string) => new AuthenticationFailedError(`malformed SCRAM message: ${why}`);

/** `k=v` attributes of a SCRAM message, in order. */
function attributes(text: string): Array<[string, string]> {
  return text.split(',').map((part) => {
    if (!/^[A-Za-z]=/.test(part)) throw bad(`"${part.slice(0, 20)}" is not an attribute`);
    return [part[0]!, part.slice(2)];
  });
}

export interface ClientFirst {
  /** The GS2 header ("n,," or "y,," or with an authorization id), echoed in client-final. */
  gs2Header: string;
  authzid: string;
  username: string;
  clientNonce: string;
  bare: string;
  /** Extensions after the nonce (Kafka's `tokenauth=true`, say), by name. */
  extensions: Record<string, string>;
}

export function parseClientFirst(message: Buffer | string): ClientFirst {
  const text = message.toString();
  if (text.length > MAX_MESSAGE) throw bad('too long');
  const m = /^([ny]),(a=[^,]*)?,(.*)$/s.exec(text);
  if (!m) {
    if (text.startsWith('p=')) throw bad('channel binding is not supported');
    throw bad('expected a GS2 header "n,,"');
  }
  const gs2Header = `${m[1]},${m[2] ?? ''},`;
  const bare = m[3]!;
  const attrs = attributes(bare);
  const [n, r, ...rest] = attrs;
  if (n?.[0] === 'm') throw bad('mandatory extensions are not supported');
  if (n?.[0] !== 'n' || r?.[0] !== 'r') throw bad('expected n=user,r=nonce');
  const username = decodeSaslName(n[1]);
  if (!username) throw bad('empty user name');
  if (!NONCE.test(r[1])) throw bad('bad nonce');
  const authzid = m[2] ? decodeSaslName(m[2].slice(2)) : '';
  return {
    gs2Header,
    authzid,
    username,
    clientNonce: r[1],
    bare,
    extensions: Object.fromEntries(rest),
  };
}

/** Finds a user's credential for a mechanism (undefined: no such user, or none for it). */
export type CredentialLookup = (username: string) => ScramCredential | undefined;

export interface ScramServerOptions {
  /** The server's part of the nonce (tests pass RFC examples'; default 24 random bytes). */
  serverNonce?: string;
  /**
   * A secret that makes the salt of unknown users stable, so that the answer to a first message
   * does not tell whether the user exists (default: random per server).
   */
  fakeSaltKey?: Buffer;
}

const PROCESS_FAKE_KEY = randomBytes(32);

/**
 * One SCRAM exchange, server side: client-first → server-first, client-final → server-final.
 * An unknown user gets a made-up salt and fails only at the proof, like a wrong password;
 * `reason` says which it was, for the log (the client hears only that authentication failed).
 */
export class ScramServer {
  private state: 'first' | 'final' | 'done' | 'failed' = 'first';
  private first?: ClientFirst;
  private serverFirst = '';
  private nonce = '';
  private credential?: ScramCredential;
  private readonly hash: ScramHash;
  /** Why the exchange failed (safe to log: no secret in it). */
  reason = '';
  username = '';

  constructor(
    readonly mechanism: ScramMechanism | 'SCRAM-SHA-1',
    private readonly lookup: CredentialLookup,
    private readonly opts: ScramServerOptions = {},
  ) {
    this.hash = mechanism === 'SCRAM-SHA-1' ? 'sha1' : HASH[mechanism];
  }

  get done(): boolean {
    return this.state === 'done';
  }

  /** The answer to the client's next message; throws AuthenticationFailedError when it fails. */
  step(message: Buffer | string): Buffer {
    try {
      if (this.state === 'first') return Buffer.from(this.onFirst(message));
      if (this.state === 'final') return Buffer.from(this.onFinal(message));
      throw new AuthenticationFailedError('the SCRAM exchange is over');
    } catch (err) {
      this.state = 'failed';
      if (!this.reason) this.reason = (err as Error).message;
      throw err instanceof AuthenticationFailedError
        ? err
        : new AuthenticationFailedError((err as Error).message);
    }
  }

  private onFirst(message: Buffer | string): string {
    const first = parseClientFirst(message);
    if (first.authzid && first.authzid !== first.username)
      throw new AuthenticationFailedError('the authorization id must be the user name');
    this.first = first;
    this.username = first.username;
    const credential = this.lookup(first.username);
    this.credential = credential ?? this.fakeCredential(first.username);
    if (!credential) this.reason = `unknown user "${first.username}"`;
    this.nonce = first.clientNonce + (this.opts.serverNonce ?? randomBytes(24).toString('base64'));
    const c = this.credential;
    this.serverFirst = `r=${this.nonce},s=${c.salt.toString('base64')},i=${c.iterations}`;
    this.state = 'final';
    return this.serverFirst;
  }

  private onFinal(message: Buffer | string): string {
    const text = message.toString();
    if (text.length > MAX_MESSAGE) throw bad('too long');
    const at = text.lastIndexOf(',p=');
    if (at < 0) throw bad('no proof');
    const withoutProof = text.slice(0, at);
    const attrs = new Map(attributes(withoutProof));
    const first = this.first!;
    if (attrs.get('c') !== Buffer.from(first.gs2Header).toString('base64'))
      throw bad('the channel binding does not match the first message');
    // librdkafka (2.0 at least) sends its own nonce again before the whole one; Kafka accepts
    // that (its check is endsWith), so this does too, and only that.
    const nonce = attrs.get('r');
    if (nonce !== this.nonce && nonce !== first.clientNonce + this.nonce)
      throw new AuthenticationFailedError('the nonce is not this exchange’s (a replayed message?)');
    const proof = Buffer.from(text.slice(at + 3), 'base64');
    if (proof.length !== LENGTH[this.hash]) throw bad('the proof has the wrong length');
    const c = this.credential!;
    const authMessage = `${first.bare},${this.serverFirst},${withoutProof}`;
    const clientKey = xor(proof, hmac(this.hash, c.storedKey, authMessage));
    const ok = safeEqual(digest(this.hash, clientKey), c.storedKey);
    if (!ok || this.reason) {
      this.reason ||= `wrong password for "${first.username}"`;
      throw new AuthenticationFailedError('authentication failed: unknown user or wrong password');
    }
    this.state = 'done';
    return `v=${hmac(this.hash, c.serverKey, authMessage).toString('base64')}`;
  }

  private fakeCredential(username: string): ScramCredential {
    const key = this.opts.fakeSaltKey ?? PROCESS_FAKE_KEY;
    const salt = hmac('sha256', key, `${this.mechanism}\0${username}`);
    const random = randomBytes(LENGTH[this.hash]);
    return { salt, iterations: MIN_ITERATIONS, storedKey: random, serverKey: random };
  }
}

/**
 * One SCRAM exchange, client side (the SDK's, and the tests'): first() → the server's answer
 * to final() → the server's last word to verify(), which proves the server knew the password.
 */
export class ScramClient {
  private readonly hash: ScramHash;
  private readonly nonce: string;
  private bare = '';
  private expectedSignature?: Buffer;

  constructor(
    mechanism: ScramMechanism | 'SCRAM-SHA-1',
    private readonly username: string,
    private readonly password: string,
    opts: { clientNonce?: string } = {},
  ) {
    this.hash = mechanism === 'SCRAM-SHA-1' ? 'sha1' : HASH[mechanism];
    this.nonce = opts.clientNonce ?? randomBytes(24).toString('base64');
  }

  first(): string {
    this.bare = `n=${encodeSaslName(this.username)},r=${this.nonce}`;
    return `n,,${this.bare}`;
  }

  final(serverFirst: Buffer | string): string {
    const text = serverFirst.toString();
    const attrs = new Map(attributes(text));
    const nonce = attrs.get('r') ?? '';
    const salt = Buffer.from(attrs.get('s') ?? '', 'base64');
    const iterations = Number(attrs.get('i'));
    if (!nonce.startsWith(this.nonce) || nonce.length === this.nonce.length)
      throw new AuthenticationFailedError('the server’s nonce does not extend ours');
    if (!Number.isInteger(iterations) || iterations < MIN_ITERATIONS)
      throw new AuthenticationFailedError(`the server asks for too few iterations (${iterations})`);
    if (salt.length === 0) throw new AuthenticationFailedError('the server sent no salt');
    const salted = saltedPassword(this.hash, this.password, salt, iterations);
    const withoutProof = `c=biws,r=${nonce}`;
    const authMessage = `${this.bare},${text},${withoutProof}`;
    const clientKey = hmac(this.hash, salted, 'Client Key');
    const signature = hmac(this.hash, digest(this.hash, clientKey), authMessage);
    this.expectedSignature = hmac(this.hash, hmac(this.hash, salted, 'Server Key'), authMessage);
    return `${withoutProof},p=${xor(clientKey, signature).toString('base64')}`;
  }

  verify(serverFinal: Buffer | string): void {
    const text = serverFinal.toString();
    if (text.startsWith('e='))
      throw new AuthenticationFailedError(`the server refused: ${text.slice(2)}`);
    const v = Buffer.from(text.startsWith('v=') ? text.slice(2) : '', 'base64');
    if (!this.expectedSignature || !safeEqual(v, this.expectedSignature))
      throw new AuthenticationFailedError('the server’s signature is wrong: it does not know us');
  }
}
