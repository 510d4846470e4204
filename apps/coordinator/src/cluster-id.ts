import { createHash, randomUUID } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { InvalidConfigError } from '@strand/wire';

const FILE = 'cluster.id';

/**
 * The id several voters arrive at without talking: from the peer list they all share. Two
 * clusters on the same addresses get the same one, so give each its own `--cluster-id` when
 * addresses are reused.
 */
export function derivedClusterId(peers: ReadonlyMap<number, string>): string {
  const list = [...peers]
    .sort(([a], [b]) => a - b)
    .map(([id, address]) => `${id}=${address}`)
    .join(',');
  const h = createHash('sha256').update(`strand-cluster:${list}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/**
 * This node's cluster id, kept in its data folder from the first start on: the one stored
 * there, which `configured` must match; else `configured`; else a new one (random for a
 * single voter, derived from the peer list for several).
 */
export async function loadClusterId(
  dataDir: string,
  configured: string | undefined,
  peers: ReadonlyMap<number, string>,
): Promise<string> {
  const file = join(dataDir, FILE);
  const stored = (await fsp.readFile(file, 'utf8').catch(() => undefined))?.trim();
  if (stored) {
    if (configured && configured !== stored)
      throw new InvalidConfigError(
        `data folder ${dataDir} belongs to cluster ${stored}, not to --cluster-id ${configured}`,
      );
    return stored;
  }
  const id = configured ?? (peers.size === 1 ? randomUUID() : derivedClusterId(peers));
  await fsp.mkdir(dataDir, { recursive: true });
  const tmp = `${file}.tmp`;
  const handle = await fsp.open(tmp, 'w');
  try {
    await handle.writeFile(`${id}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fsp.rename(tmp, file);
  const dir = await fsp.open(dataDir, 'r');
  await dir.sync().finally(() => dir.close());
  return id;
}
