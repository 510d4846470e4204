import type { Readiness } from '@strand/ops';
import type { Membership } from './membership.js';
import type { MetadataCache } from './metadata.js';

/**
 * A broker is ready for traffic once it is registered (the controller accepted its
 * registration or a heartbeat recently), not fenced, and its metadata follows the store live
 * and already shows its own registration at its current epoch (so it knows at least
 * everything up to its own joining). Once a controlled shutdown has begun (SIGTERM) it is not
 * ready, whatever else holds: load balancers drain it while its leaderships move away.
 */
export function brokerReadiness(
  id: number,
  membership: Membership,
  meta: MetadataCache,
  opts: { shuttingDown?: boolean; now?: number } = {},
): Readiness {
  const now = opts.now ?? Date.now();
  const shuttingDown = opts.shuttingDown === true;
  const since = now - membership.lastAcceptedAt;
  const registered =
    membership.epoch > 0 && membership.lastAcceptedAt > 0 && since <= membership.staleAfterMs;
  const own = meta.brokers.get(id);
  const fenced = membership.fenced || own?.fenced === true;
  const caughtUp = meta.live && own !== undefined && own.epoch === membership.epoch;
  const checks: Readiness['checks'] = {
    // First: the reason a prober shows when it names one.
    shuttingDown: {
      ok: !shuttingDown,
      detail: shuttingDown
        ? 'controlled shutdown under way: its leaderships move to other brokers, then it stops'
        : 'running',
    },
    registered: {
      ok: registered,
      detail:
        membership.epoch === 0
          ? 'not registered yet'
          : registered
            ? `epoch ${membership.epoch}`
            : `no heartbeat accepted for ${since} ms`,
    },
    unfenced: { ok: !fenced, detail: fenced ? 'fenced by the controller' : 'not fenced' },
    metadata: {
      ok: caughtUp,
      detail: !meta.live
        ? 'metadata not loaded or its watch is reconnecting'
        : caughtUp
          ? `at revision ${meta.revision}`
          : `its own registration (epoch ${membership.epoch}) not in the metadata yet`,
    },
  };
  return {
    ready: !shuttingDown && registered && !fenced && caughtUp,
    shuttingDown,
    checks,
    epoch: membership.epoch,
    metadataRevision: meta.revision,
  };
}
