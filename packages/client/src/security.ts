import { type ChannelSecurity, ClientTls, InvalidConfigError, type TlsOptions } from '@strand/wire';
import { type SaslOptions, TokenSource } from './auth/token-source.js';

export interface SecurityOptions {
  /** TLS (and mutual TLS): the cluster's CA, and a certificate of this client's own. */
  tls?: TlsOptions | ClientTls;
  /** A user of the cluster (SCRAM-SHA-512 by default); needs `tls`. */
  sasl?: SaslOptions;
}

export interface ClientSecurity {
  channels: ChannelSecurity;
  /** With `sasl`: the session token every call carries (close it with the client). */
  tokens?: TokenSource;
}

/**
 * How this client's channels are made, from its options: TLS, and with `sasl` a token on
 * every call, got from any of `addresses`.
 */
export function clientSecurity(
  opts: SecurityOptions,
  addresses: () => readonly string[],
): ClientSecurity {
  const tls = opts.tls && (opts.tls instanceof ClientTls ? opts.tls : new ClientTls(opts.tls));
  if (!opts.sasl) return { channels: { tls } };
  if (!tls)
    throw new InvalidConfigError(
      'sasl needs tls: passwords and tokens travel over TLS only (give the tls option too)',
    );
  const tokens = new TokenSource(opts.sasl, tls, addresses);
  return { channels: { tls, callCredentials: tokens.callCredentials() }, tokens };
}
