import type { Logger } from '@strand/ops';
import type { BrokerRecord, PartitionRecord } from '@strand/wire';
import type { Membership } from './membership.js';
import type { MetadataCache } from './metadata.js';

/**
 * Whether the controller has moved what broker `self` holds: it leads no partition and is in
 * no ISR where another live broker that is not stopping could stand in. A partition whose only
 * live in-sync replica it is has nowhere to go: it stays led here until this broker stops (then
 * it is offline as after a crash, unless unclean election is allowed).
 */
export function shutdownSettled(
  self: number,
  partitions: Iterable<PartitionRecord>,
  brokers: ReadonlyMap<number, BrokerRecord>,
): boolean {
  const staying = (id: number) => {
    const b = brokers.get(id);
    return b !== undefined && !b.fenced && !b.shuttingDown;
  };
  for (const p of partitions) {
    const held = p.leader === self || p.isr.includes(self);
    if (held && p.isr.some((b) => b !== self && staying(b))) return false;
  }
  return true;
}

function* allPartitions(meta: MetadataCache): Iterable<PartitionRecord> {
  for (const topic of meta.partitions.values()) yield* topic.values();
}

/**
 * Before a broker stops on SIGTERM: tells the controller it is leaving, then keeps serving
 * (answers that send clients to the new leaders) until its metadata shows the move done, or
 * `timeoutMs` passed. Producers with acks=all then wait neither for a session timeout nor for
 * this broker to drop out of the ISR.
 */
export async function controlledShutdown(
  member: Membership,
  meta: MetadataCache,
  timeoutMs: number,
  log: Logger,
): Promise<void> {
  if (timeoutMs <= 0) return;
  const t0 = performance.now();
  const leaderships = await member.requestShutdown(timeoutMs);
  if (leaderships === undefined) return;
  const settled = () => shutdownSettled(member.id, allPartitions(meta), meta.brokers);
  // Without a live metadata watch the move cannot be seen (the coordinators may be stopping
  // too): waiting longer would only delay the stop.
  while (!settled() && meta.live && performance.now() - t0 < timeoutMs)
    await new Promise((r) => setTimeout(r, 50));
  const fields = { leaderships, ms: Math.round(performance.now() - t0) };
  if (settled()) log.info(fields, 'controlled shutdown: leaderships moved, out of every ISR');
  else log.warn(fields, 'controlled shutdown: not every leadership moved in time; stopping anyway');
}
