import { promises as fsp } from 'node:fs';
import { join } from 'node:path';

const FILE = 'high-watermark';

/**
 * The high watermark a replica last knew, kept in its partition directory so that a restarted
 * leader does not start from 0 (serving nothing, and answering "latest" with 0) until every
 * follower has fetched again. Written now and then, not synced: a lost or torn file only
 * means an older watermark, and the caller caps it at the log end anyway.
 */
export async function loadHighWatermark(dir: string): Promise<number> {
  const text = await fsp.readFile(join(dir, FILE), 'utf8').catch(() => '');
  const n = Number(text.trim());
  return text.trim() !== '' && Number.isSafeInteger(n) && n >= 0 ? n : 0;
}

export async function saveHighWatermark(dir: string, hw: number): Promise<void> {
  const tmp = join(dir, `${FILE}.tmp`);
  await fsp.writeFile(tmp, String(hw));
  await fsp.rename(tmp, join(dir, FILE));
}
