import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { InconsistentClusterIdError, InvalidConfigError } from '@strand/wire';

/** Written whole or not at all: a temporary file, synced, renamed over the old one. */
async function writeDurably(file: string, text: string): Promise<void> {
  const tmp = `${file}.tmp`;
  const handle = await fsp.open(tmp, 'w');
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fsp.rename(tmp, file);
}

const read = (file: string) =>
  fsp.readFile(file, 'utf8').then(
    (t) => t.trim(),
    () => undefined,
  );

/**
 * Who a broker is, kept in its data folder for life: its id, a secret token (it proves to the
 * controller and to partition leaders that it is this broker, across restarts; the cluster
 * keeps only its hash), and the id of the cluster it joined first, which it never leaves.
 */
export class BrokerIdentity {
  private constructor(
    private readonly dir: string,
    readonly token: Buffer,
    private storedClusterId: string | undefined,
  ) {}

  /** Claims `dir` for broker `id` (a data folder belongs to one id), making the token once. */
  static async open(dir: string, id: number): Promise<BrokerIdentity> {
    await fsp.mkdir(dir, { recursive: true });
    const owner = await read(join(dir, 'broker.id'));
    if (owner !== undefined && owner !== String(id))
      throw new InvalidConfigError(`data directory ${dir} belongs to broker ${owner}, not ${id}`);
    if (owner === undefined) await writeDurably(join(dir, 'broker.id'), String(id));
    let token = await read(join(dir, 'broker.token'));
    if (!token || !/^[0-9a-f]{64}$/.test(token)) {
      token = randomBytes(32).toString('hex');
      await writeDurably(join(dir, 'broker.token'), `${token}\n`);
    }
    return new BrokerIdentity(dir, Buffer.from(token, 'hex'), await read(join(dir, 'cluster.id')));
  }

  /** The cluster this broker belongs to ('' before it first registered). */
  get clusterId(): string {
    return this.storedClusterId ?? '';
  }

  /** Keeps the cluster id a controller answered with; another one than before is refused. */
  async joined(clusterId: string): Promise<void> {
    if (!clusterId || clusterId === this.storedClusterId) return;
    if (this.storedClusterId)
      throw new InconsistentClusterIdError(
        `data folder ${this.dir} belongs to cluster ${this.storedClusterId}; the coordinators are cluster ${clusterId}`,
      );
    await writeDurably(join(this.dir, 'cluster.id'), `${clusterId}\n`);
    this.storedClusterId = clusterId;
  }
}
