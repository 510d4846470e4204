import { type ChannelSecurity, ClientTls, type TlsOptions } from '@strand/wire';

export interface SecurityOptions {
  /** TLS (and mutual TLS): the cluster's CA, and a certificate of this client's own. */
  tls?: TlsOptions | ClientTls;
}

/** How this client's channels are made, from its options. */
export function channelSecurity(opts: SecurityOptions): ChannelSecurity {
  if (!opts.tls) return {};
  return { tls: opts.tls instanceof ClientTls ? opts.tls : new ClientTls(opts.tls) };
}
