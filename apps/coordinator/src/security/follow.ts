import { SecurityState } from '@strand/auth';
import { type KvNode, prefixEnd } from '@strand/kv';

const ROOT = Buffer.from('/strand/');

/**
 * Keeps `state` (users, ACLs, the token key) current from this coordinator's own state
 * machine: what it holds now, then every change as Raft applies it (on followers too).
 */
export function followSecurity(node: KvNode, state: SecurityState): Promise<() => void> {
  const end = prefixEnd(ROOT);
  for (const kv of node.sm.range(ROOT, end).kvs) {
    const key = kv.key.toString();
    if (SecurityState.concerns(key)) state.apply(key, kv.value);
  }
  // No await between the range and the watch: no change falls between them.
  return node.sm.watch(ROOT, end, 0, (events) => {
    for (const e of events) {
      const key = e.kv.key.toString();
      if (SecurityState.concerns(key)) state.apply(key, e.type === 'put' ? e.kv.value : undefined);
    }
  });
}
