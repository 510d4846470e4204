import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type AclBindingInput, Admin } from '@strand/client';
import { makePki, type PkiFiles, writePki } from '@strand/security';
import {
  coordinatorLayout,
  FaultProxy,
  freePort,
  type NodeProcess,
  type ProcessRegistry,
  tempDir,
} from '@strand/testkit';

export const BROKER_MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'main.js');
export const COORDINATOR_MAIN = fileURLToPath(import.meta.resolve('@strand/coordinator/main'));

export interface TopicCluster {
  coordinator: string;
  /** Each coordinator's client address, peer (Raft) address and process. */
  coordinators: Map<number, { address: string; peer: string; proc: NodeProcess }>;
  brokers: Map<number, { address: string; proc: NodeProcess }>;
  bootstrap: string[];
  startBroker(id: number, extra?: string[]): Promise<NodeProcess>;
  startCoordinator(id: number): Promise<NodeProcess>;
  /** Where broker `id` keeps its partition logs. */
  logDir(id: number): string;
  /**
   * With `proxied`: cuts broker `id` off the network (nobody reaches it, it reaches no
   * coordinator) until heal(); its outbound fetches from other brokers still go through.
   */
  isolateBroker(id: number): void;
  healBroker(id: number): void;
  cleanup(): void;
}

/** `coordinators` (default 1) coordinators and `n` brokers on loopback, each a separate process. */
export async function startTopicCluster(
  registry: ProcessRegistry,
  n: number,
  opts: {
    brokerArgs?: string[];
    /** More flags for broker `id` alone (e.g. its rack). */
    brokerArgsFor?: (id: number) => string[];
    coordinatorArgs?: string[];
    /** More flags for coordinator `id` alone, asked at each start (so a restart may change them). */
    coordinatorArgsFor?: (id: number) => string[];
    coordinators?: number;
    /** Every connection to a broker, and from it to the coordinators, through a FaultProxy. */
    proxied?: boolean;
    /** How long a broker may take to start (default 15 s). */
    brokerReadyTimeoutMs?: number;
    /** Prepares coordinator `id`'s data directory before its first start. */
    seedCoordinator?: (id: number, dataDir: string) => Promise<void>;
    /** Every process with an admin listener on a free port (see adminUrlOf). */
    admin?: boolean;
    /** Where every process keeps its data (default: a new temporary directory). */
    dataDir?: string;
  } = {},
): Promise<TopicCluster> {
  const dir = opts.dataDir
    ? { path: opts.dataDir, cleanup: () => undefined }
    : tempDir('strand-topics-');
  const adminArgs = opts.admin ? ['--admin-listen', '127.0.0.1:0'] : [];
  const layout = await coordinatorLayout(opts.coordinators ?? 1);
  const { ids, clients: addresses } = layout;
  const coordinators = new Map<number, { address: string; peer: string; proc: NodeProcess }>();
  const coordinatorDir = (id: number) => join(dir.path, `coordinator-${id}`);
  for (const id of ids) await opts.seedCoordinator?.(id, coordinatorDir(id));
  const startCoordinator = async (id: number) => {
    const proc = await registry.start(COORDINATOR_MAIN, {
      name: `coordinator-${id}`,
      args: [
        ...layout.args(id),
        ...['--data', coordinatorDir(id)],
        ...adminArgs,
        ...(opts.coordinatorArgs ?? []),
        ...(opts.coordinatorArgsFor?.(id) ?? []),
      ],
      readyLine: /listening on/,
    });
    coordinators.set(id, { address: addresses.get(id)!, peer: layout.peers.get(id)!, proc });
    return proc;
  };
  await Promise.all(ids.map(startCoordinator));
  const coordinator = [...addresses.values()].join(',');
  const brokers = new Map<number, { address: string; proc: NodeProcess }>();
  const proxies = new Map<number, { inbound: FaultProxy; outbound: FaultProxy[] }>();
  const listenOf = new Map<number, string>();
  const proxiesFor = async (id: number, listen: string) => {
    let p = proxies.get(id);
    if (!p) {
      const port = Number(listen.split(':')[1]);
      p = {
        inbound: await FaultProxy.start({ target: { host: '127.0.0.1', port } }),
        outbound: await Promise.all(
          [...addresses.values()].map((a) =>
            FaultProxy.start({ target: { host: '127.0.0.1', port: Number(a.split(':')[1]) } }),
          ),
        ),
      };
      proxies.set(id, p);
    }
    return p;
  };
  const startBroker = async (id: number, extra: string[] = []) => {
    const listen = listenOf.get(id) ?? `127.0.0.1:${await freePort()}`;
    listenOf.set(id, listen);
    const p = opts.proxied ? await proxiesFor(id, listen) : undefined;
    const address = p ? p.inbound.url : listen;
    const coordinatorsFor = p ? p.outbound.map((o) => o.url).join(',') : coordinator;
    const proc = await registry.start(BROKER_MAIN, {
      name: `broker-${id}`,
      args: [
        '--id',
        String(id),
        '--listen',
        listen,
        '--advertise',
        address,
        '--coordinators',
        coordinatorsFor,
        '--data',
        join(dir.path, `broker-${id}`),
        ...adminArgs,
        ...(opts.brokerArgs ?? []),
        ...(opts.brokerArgsFor?.(id) ?? []),
        ...extra,
      ],
      readyLine: /broker \d+ listening on/,
      readyTimeoutMs: opts.brokerReadyTimeoutMs,
    });
    brokers.set(id, { address, proc });
    return proc;
  };
  for (let id = 1; id <= n; id++) await startBroker(id);
  return {
    coordinator,
    coordinators,
    brokers,
    bootstrap: [...brokers.values()].map((b) => b.address),
    startBroker,
    startCoordinator,
    logDir: (id) => join(dir.path, `broker-${id}`, 'logs'),
    isolateBroker: (id) => {
      const p = proxies.get(id);
      if (!p) throw new Error('isolateBroker needs { proxied: true }');
      for (const x of [p.inbound, ...p.outbound]) x.blackhole();
    },
    healBroker: (id) => {
      const p = proxies.get(id);
      // Dropped bytes left the open connections' streams unusable: they reconnect.
      for (const x of [p?.inbound, ...(p?.outbound ?? [])]) {
        x?.reset();
        x?.heal();
      }
    },
    cleanup: () => {
      for (const p of proxies.values()) for (const x of [p.inbound, ...p.outbound]) void x.close();
      dir.cleanup();
    },
  };
}

export interface SecuredCluster {
  cluster: TopicCluster;
  /** node-1.., admin and the client names asked for, all of one CA. */
  files: PkiFiles;
  /** What the admin (a super user by its certificate) connects with. */
  adminTls: { ca: Buffer; cert: Buffer; key: Buffer };
}

/**
 * `n` brokers and a coordinator with TLS (certificates node-1..node-n of a CA made in `dir`) and
 * --authentication required, the nodes and `admin` their super users.
 */
export async function startSecuredCluster(
  registry: ProcessRegistry,
  n: number,
  dir: string,
  opts: {
    brokerArgs?: string[];
    /** Flags for every node, coordinator and brokers alike. */
    nodeArgs?: string[];
    clients?: string[];
    admin?: boolean;
    /** ACLs the admin makes once the cluster is up (authorization comes with authentication). */
    acls?: AclBindingInput[];
  } = {},
): Promise<SecuredCluster> {
  const nodes = Array.from({ length: n }, (_, i) => `node-${i + 1}`);
  const files = writePki(
    join(dir, 'pki'),
    await makePki([...nodes, 'admin', ...(opts.clients ?? [])]),
  );
  const superUsers = [...nodes, 'admin'].map((cn) => `User:${cn}`).join(',');
  const flags = (cn: string) => [
    ...['--tls-cert', files.cert(cn), '--tls-key', files.key(cn), '--tls-ca', files.ca],
    ...['--authentication', 'required', '--super-users', superUsers],
    ...(opts.nodeArgs ?? []),
  ];
  const cluster = await startTopicCluster(registry, n, {
    coordinatorArgs: flags('node-1'),
    brokerArgsFor: (id) => [...flags(`node-${id}`), ...(opts.brokerArgs ?? [])],
    admin: opts.admin ?? false,
  });
  const read = (p: string) => readFileSync(p);
  const adminTls = {
    ca: read(files.ca),
    cert: read(files.cert('admin')),
    key: read(files.key('admin')),
  };
  if (opts.acls?.length) {
    const admin = new Admin({ bootstrap: cluster.bootstrap, tls: adminTls });
    await admin.createAcls(opts.acls).finally(() => admin.close());
  }
  return { cluster, files, adminTls };
}

/** ACLs that let `principal` do anything with every resource of `types`. */
export const allowAll = (
  principal: string,
  types: readonly ('topic' | 'group' | 'kv')[] = ['topic', 'group'],
): AclBindingInput[] =>
  types.map((resourceType) => ({
    resourceType,
    name: '*',
    principal,
    operation: 'all',
    permission: 'allow',
  }));
