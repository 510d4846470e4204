// Temporary (not committed): 3 coordinators as bench kv starts them, each with --cpu-prof, the
// same write load (256 in flight over 8 KvClients, 100 B puts) for 10 s, then SIGTERM all.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KvClient } from '@strand/client';
import { coordinatorLayout, ProcessRegistry, tempDir } from '@strand/testkit';
const MAIN = fileURLToPath(import.meta.resolve('@strand/coordinator/main'));
const registry = new ProcessRegistry();
const dir = tempDir('strand-kv-prof-');
const layout = await coordinatorLayout(3);
const pids = new Map();
for (const id of layout.ids)
  pids.set(id, (await registry.start(MAIN, { name: `c${id}`, args: [...layout.args(id), '--data', join(dir.path, `n${id}`)], readyLine: /listening on/ })).pid);
const bootstrap = [...layout.clients.values()];
const clients = Array.from({ length: 8 }, () => new KvClient({ bootstrap, timeoutMs: 5000 }));
for (const c of clients) await c.members();
const leader = (await clients[0].members()).leaderId;
console.log('leader', leader, 'pid', pids.get(leader));
const deadline = performance.now() + 10_000;
let n = 0;
await Promise.all(Array.from({ length: 256 }, async (_, w) => {
  const c = clients[w % 8]; let i = 0;
  while (performance.now() < deadline) { await c.put(`bench/${w}/${i++ % 100}`, 'v'.repeat(100)); n++; }
}));
console.log('writes/s', n / 10);
for (const c of clients) c.close();
await registry.stopAll();
dir.cleanup();
