import type { Readiness } from '@strand/ops';
import type { Membership } from './membership.js';
import type { MetadataCache } from './metadata.js';

/**
 * A broker is ready for traffic once it is registered (the controller accepted its
 * registration or a heartbeat recently), not fenced, and its metadata follows the store live
 * and already shows its own registration at its current epoch (so it knows at least
 * everything up to its own joining).
 */
export function brokerReadiness(
  id: number,
  membership: Membership,
  meta: MetadataCache,
  now = Date.now(),
): Readiness {
  const since = now - membership.lastAcceptedAt;
  const registered =
    membership.epoch > 0 && membership.lastAcceptedAt > 0 && since <= membership.staleAfterMs;
  const own = meta.brokers.get(id);
  const fenced = membership.fenced || own?.fenced === true;
  const caughtUp = meta.live && own !== undefined && own.epoch === membership.epoch;
  const checks: Readiness['checks'] = {
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
    ready: registered && !fenced && caughtUp,
    checks,
    epoch: membership.epoch,
    metadataRevision: meta.revision,
  };
}
