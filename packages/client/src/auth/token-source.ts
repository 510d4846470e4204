import * as grpc from '@grpc/grpc-js';
import { encodePlain, ScramClient } from '@strand/auth';
import {
  AuthenticationFailedError,
  ClientPool,
  type ClientTls,
  InvalidConfigError,
  type StrandError,
  securityService,
  toGrpcError,
  UnavailableError,
} from '@strand/wire';
import { z } from 'zod';

/** Who this client is: a user of the cluster, checked by SCRAM (or PLAIN, which sends the password). */
export interface SaslOptions {
  /** Default SCRAM-SHA-512. */
  mechanism?: 'SCRAM-SHA-256' | 'SCRAM-SHA-512' | 'PLAIN';
  username: string;
  password: string;
}

export const SaslOptionsSchema = z
  .object({
    mechanism: z.enum(['SCRAM-SHA-256', 'SCRAM-SHA-512', 'PLAIN']).default('SCRAM-SHA-512'),
    username: z.string().min(1).max(128),
    password: z.string().min(1).max(1024),
  })
  .strict();

interface AuthAnswer {
  message: Buffer;
  exchange_id: string;
  done: boolean;
  token: string;
  expires_at_ms: number;
}

const EXCHANGE_TIMEOUT_MS = 10_000;

/**
 * A session token for every call this client makes: got by a SASL exchange with any of its
 * nodes (any node verifies any node's tokens), kept, and renewed once two thirds of its life
 * are gone. Calls wait for the first; a failed exchange fails them with its typed error.
 */
export class TokenSource {
  private token: { value: string; renewAt: number } | undefined;
  private pending: Promise<string> | undefined;
  private readonly pool: ClientPool;
  private readonly sasl: z.output<typeof SaslOptionsSchema>;

  constructor(
    sasl: SaslOptions,
    tls: ClientTls,
    private readonly addresses: () => readonly string[],
  ) {
    const parsed = SaslOptionsSchema.safeParse(sasl);
    if (!parsed.success)
      throw new InvalidConfigError(
        `sasl.${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`,
      );
    this.sasl = parsed.data;
    this.pool = new ClientPool(securityService('Auth'), {}, { tls });
  }

  /** gRPC call credentials that put the token on every call. */
  callCredentials(): grpc.CallCredentials {
    return grpc.credentials.createFromMetadataGenerator((_params, cb) => {
      this.get().then(
        (token) => {
          const md = new grpc.Metadata();
          md.set('authorization', `Bearer ${token}`);
          cb(null, md);
        },
        (err: StrandError) => {
          // grpc-js keeps only the status code of a failure here: UNAUTHENTICATED stays an
          // authentication error, UNAVAILABLE (no node reachable) is retried.
          const e = new Error(err.message) as Error & { code: number };
          e.code = toGrpcError(err).code;
          cb(e);
        },
      );
    });
  }

  get(): Promise<string> {
    if (this.token && Date.now() < this.token.renewAt) return Promise.resolve(this.token.value);
    this.pending ??= this.authenticate().finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  close(): void {
    this.pool.close();
  }

  private async authenticate(): Promise<string> {
    let last: StrandError = new UnavailableError('no address to authenticate with');
    for (const address of this.addresses()) {
      try {
        const answer = await this.exchange(address);
        const now = Date.now();
        this.token = {
          value: answer.token,
          renewAt: now + ((answer.expires_at_ms - now) * 2) / 3,
        };
        return answer.token;
      } catch (err) {
        last = err as StrandError;
        if (last instanceof AuthenticationFailedError || last instanceof InvalidConfigError)
          throw last;
      }
    }
    throw last;
  }

  private async exchange(address: string): Promise<AuthAnswer> {
    const { mechanism, username, password } = this.sasl;
    const step = (message: string | Buffer, exchangeId: string) =>
      this.pool.unary<AuthAnswer>(
        address,
        'Authenticate',
        { mechanism, message: Buffer.from(message), exchange_id: exchangeId },
        EXCHANGE_TIMEOUT_MS,
      );
    if (mechanism === 'PLAIN') return step(encodePlain(username, password), '');
    const scram = new ScramClient(mechanism, username, password);
    const first = await step(scram.first(), '');
    const final = await step(scram.final(first.message), first.exchange_id);
    scram.verify(final.message);
    if (!final.done) throw new AuthenticationFailedError('the server did not end the exchange');
    return final;
  }
}
