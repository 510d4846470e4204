import {
  Admin,
  Consumer,
  type ConsumerOptions,
  KvClient,
  Producer,
  type SaslOptions,
} from '@strand/client';
import type { TlsOptions } from '@strand/wire';

/** The SDK clients every page and action uses: the console's own, or a logged-in user's. */
export interface Cluster {
  admin: Admin;
  kv: KvClient;
  /** One producer for the clients' lifetime, made on first use. */
  producer: () => Producer;
  /** A consumer as the same principal (the message browser and the live tail make their own). */
  consumer: (opts: Omit<ConsumerOptions, 'bootstrap'>) => Consumer;
  close: () => Promise<void>;
}

export interface ClusterAddress {
  bootstrap: string[];
  kvBootstrap: string[];
  /** The cluster's CA, and the console's own certificate if it has one. */
  tls?: TlsOptions;
}

/** The SDK's clients of a cluster, as the console itself or (with `sasl`) as a user. */
export function connect(at: ClusterAddress, sasl?: SaslOptions): Cluster {
  const security = { ...(at.tls ? { tls: at.tls } : {}), ...(sasl ? { sasl } : {}) };
  const clientOpts = { bootstrap: at.bootstrap, clientId: 'strand-console', ...security };
  const admin = new Admin(clientOpts);
  const kv = new KvClient({ bootstrap: at.kvBootstrap, ...security });
  let producer: Producer | undefined;
  return {
    admin,
    kv,
    producer: () => {
      producer ??= new Producer(clientOpts);
      return producer;
    },
    consumer: (opts) => new Consumer({ ...clientOpts, ...opts }),
    close: async () => {
      await Promise.allSettled([admin.close(), producer?.close()]);
      kv.close();
    },
  };
}
