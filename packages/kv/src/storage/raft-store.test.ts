import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Entry } from '../raft/types.js';
import { KvDb } from './db.js';
import { RaftLogStore } from './raft-store.js';

const e = (index: number, term: number, text = `e${index}`): Entry => ({
  index,
  term,
  type: 0,
  data: Buffer.from(text),
});

describe('RaftLogStore', () => {
  it('saves hard state and entries, replaces a stale suffix, compacts, and loads after reopen', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'strand-raft-'));
    try {
      let db = await KvDb.open(dir);
      let store = new RaftLogStore(db);
      await store.load();
      await store.save(
        {
          hardState: { term: 1, vote: 1, commit: 0 },
          entries: [e(1, 1), e(2, 1), e(3, 1), e(4, 1)],
        },
        true,
      );
      // A new leader overwrites from index 3: entry 4 must disappear too.
      await store.save(
        { hardState: { term: 2, vote: 2, commit: 2 }, entries: [e(3, 2, 'new3')] },
        true,
      );
      await db.close();
      db = await KvDb.open(dir);
      store = new RaftLogStore(db);
      let loaded = await store.load();
      expect(loaded.hardState).toEqual({ term: 2, vote: 2, commit: 2 });
      expect(loaded.entries.map((x) => `${x.index}/${x.term}/${Buffer.from(x.data)}`)).toEqual([
        '1/1/e1',
        '2/1/e2',
        '3/2/new3',
      ]);
      const snapshot = {
        metadata: { index: 2, term: 1, confState: { voters: [1, 2, 3], learners: [] } },
        data: Buffer.from('state'),
      };
      await store.save({ snapshot }, true);
      await store.compact(2);
      loaded = await store.load();
      expect(loaded.snapshot?.metadata.index).toBe(2);
      expect(loaded.confState?.voters).toEqual([1, 2, 3]);
      expect(loaded.entries).toEqual([]);
      await db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
