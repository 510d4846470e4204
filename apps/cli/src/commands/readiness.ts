import { KvClient } from '@strand/client';
import { adminGet } from '@strand/ops';
import type { ConnectionSecurity } from './common.js';

/** What a node's `/readyz` says: ready, not ready (and why), or unknown (and why). */
export interface NodeReadiness {
  ready: boolean | null;
  /** The first failed check, or why the answer is unknown; '' when ready. */
  detail: string;
}

interface ReadyzBody {
  ready?: unknown;
  checks?: Record<string, { ok?: unknown; detail?: unknown }>;
}

/**
 * GETs `adminUrl`/readyz (an https one checked against `ca`, the cluster's CA: a secured
 * node's admin port serves its own certificate); never throws (a node that does not answer
 * is unknown).
 */
export async function probeReadiness(
  adminUrl: string,
  timeoutMs: number,
  ca?: Buffer,
): Promise<NodeReadiness> {
  if (!adminUrl) return { ready: null, detail: 'no admin listener' };
  try {
    const res = await adminGet(adminUrl, '/readyz', { timeoutMs, ...(ca ? { ca } : {}) });
    const body = JSON.parse(res.text) as ReadyzBody;
    if (body.ready === true && res.status === 200) return { ready: true, detail: '' };
    const failed = Object.entries(body.checks ?? {}).find(([, c]) => c.ok !== true);
    return {
      ready: false,
      detail: failed
        ? `${failed[0]}: ${String(failed[1].detail ?? 'failed')}`
        : `HTTP ${res.status}`,
    };
  } catch (err) {
    return { ready: null, detail: `${adminUrl} did not answer (${(err as Error).message})` };
  }
}

/**
 * A coordinator's readiness: asked alone for its members, it names its admin listener, whose
 * `/readyz` says the rest.
 */
export async function coordinatorReadiness(
  address: string,
  timeoutMs: number,
  security: ConnectionSecurity,
): Promise<NodeReadiness> {
  const kv = new KvClient({ bootstrap: [address], timeoutMs, retries: 0, ...security });
  try {
    return await probeReadiness((await kv.members()).adminUrl, timeoutMs, security.tls?.ca);
  } catch (err) {
    return { ready: null, detail: `${address} did not answer (${(err as Error).message})` };
  } finally {
    kv.close();
  }
}

/** One column of `strand cluster`'s tables. */
export function readinessText(r: NodeReadiness | undefined): string {
  if (!r) return 'unknown';
  if (r.ready === true) return 'ready';
  return `${r.ready === false ? 'NOT READY' : 'unknown'}: ${r.detail}`;
}
