import { connect, createServer, type Server, type Socket } from 'node:net';

export interface Endpoint {
  host: string;
  port: number;
}

export type Direction = 'both' | 'toTarget' | 'fromTarget';

export interface ProxyStats {
  bytesToTarget: number;
  bytesFromTarget: number;
  connections: number;
  open: number;
}

/**
 * A fault-injecting TCP proxy on loopback. Faults:
 * - `blackhole(direction)`: bytes in that direction are silently dropped while connections
 *   stay open (a network partition, possibly one-way);
 * - `refuse(true)`: new connections are closed at once;
 * - `reset()`: every open connection is destroyed;
 * - `delay(ms, jitterMs)`: each chunk is held back before it is forwarded (order kept);
 * - `heal()`: undoes all of them.
 */
export class FaultProxy {
  private readonly pairs = new Set<{ client: Socket; upstream: Socket }>();
  private dropTo = false;
  private dropFrom = false;
  private refusing = false;
  private delayMs = 0;
  private jitterMs = 0;
  private readonly counters = { bytesToTarget: 0, bytesFromTarget: 0, connections: 0 };

  private constructor(
    private readonly server: Server,
    readonly target: Endpoint,
    readonly address: Endpoint,
  ) {}

  static async start(opts: { target: Endpoint; listen?: Partial<Endpoint> }): Promise<FaultProxy> {
    const server = createServer();
    const host = opts.listen?.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.listen?.port ?? 0, host, () => resolve());
    });
    const port = (server.address() as { port: number }).port;
    const proxy = new FaultProxy(server, opts.target, { host, port });
    server.on('connection', (client) => proxy.accept(client));
    return proxy;
  }

  get url(): string {
    return `${this.address.host}:${this.address.port}`;
  }

  blackhole(direction: Direction = 'both'): void {
    if (direction !== 'fromTarget') this.dropTo = true;
    if (direction !== 'toTarget') this.dropFrom = true;
  }

  refuse(on = true): void {
    this.refusing = on;
  }

  delay(ms: number, jitterMs = 0): void {
    this.delayMs = ms;
    this.jitterMs = jitterMs;
  }

  reset(): void {
    for (const { client, upstream } of this.pairs) {
      client.destroy();
      upstream.destroy();
    }
    this.pairs.clear();
  }

  heal(): void {
    this.dropTo = this.dropFrom = this.refusing = false;
    this.delayMs = this.jitterMs = 0;
  }

  stats(): ProxyStats {
    return { ...this.counters, open: this.pairs.size };
  }

  async close(): Promise<void> {
    this.reset();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    if (this.refusing) {
      client.destroy();
      return;
    }
    this.counters.connections += 1;
    const upstream = connect(this.target.port, this.target.host);
    const pair = { client, upstream };
    this.pairs.add(pair);
    const end = () => {
      client.destroy();
      upstream.destroy();
      this.pairs.delete(pair);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    this.pipe(client, upstream, true);
    this.pipe(upstream, client, false);
  }

  private pipe(from: Socket, to: Socket, toTarget: boolean): void {
    let chain = Promise.resolve();
    from.on('data', (chunk: Buffer) => {
      if (toTarget ? this.dropTo : this.dropFrom) return;
      if (toTarget) this.counters.bytesToTarget += chunk.length;
      else this.counters.bytesFromTarget += chunk.length;
      if (this.delayMs === 0 && this.jitterMs === 0) {
        if (!to.destroyed) to.write(chunk);
        return;
      }
      const wait = this.delayMs + Math.random() * this.jitterMs;
      chain = chain.then(
        () =>
          new Promise<void>((resolve) =>
            setTimeout(() => {
              if (!to.destroyed) to.write(chunk);
              resolve();
            }, wait),
          ),
      );
    });
  }
}

/**
 * One proxy per directed pair of nodes, so that any partition can be built, including
 * asymmetric ones: node `a` reaches node `b` through `mesh.addressFor(a, b)`.
 */
export class ProxyMesh {
  private constructor(private readonly proxies: Map<string, FaultProxy>) {}

  static async start(targets: Map<number, Endpoint>): Promise<ProxyMesh> {
    const proxies = new Map<string, FaultProxy>();
    for (const from of targets.keys()) {
      for (const [to, target] of targets) {
        if (from !== to) proxies.set(`${from}->${to}`, await FaultProxy.start({ target }));
      }
    }
    return new ProxyMesh(proxies);
  }

  proxy(from: number, to: number): FaultProxy {
    const p = this.proxies.get(`${from}->${to}`);
    if (!p) throw new Error(`no proxy from ${from} to ${to}`);
    return p;
  }

  addressFor(from: number, to: number): string {
    return this.proxy(from, to).url;
  }

  /** Traffic from `a` to `b` is dropped (b still reaches a). */
  cutOneWay(a: number, b: number): void {
    this.proxy(a, b).blackhole('toTarget');
    this.proxy(b, a).blackhole('fromTarget');
  }

  /** No traffic between any node of `side1` and any node of `side2`. */
  partition(side1: number[], side2: number[]): void {
    for (const a of side1) {
      for (const b of side2) {
        this.cutOneWay(a, b);
        this.cutOneWay(b, a);
      }
    }
  }

  isolate(node: number): void {
    const others = [
      ...new Set([...this.proxies.keys()].map((k) => Number(k.split('->')[0]))),
    ].filter((n) => n !== node);
    this.partition([node], others);
  }

  heal(): void {
    for (const p of this.proxies.values()) p.heal();
  }

  async close(): Promise<void> {
    await Promise.all([...this.proxies.values()].map((p) => p.close()));
  }
}
