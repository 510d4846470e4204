import type { KvClient } from '@strand/client';
import { MetaKeys, TimeoutError } from '@strand/wire';
import type { ControllerClient } from './controller-client.js';
import type { MetadataCache } from './metadata.js';

/** How long a broker waits for its own metadata to show a change it forwarded. */
const PROPAGATION_MS = 5000;

/**
 * Topic changes a broker forwards to the controller, for every protocol it serves: each is
 * answered only once this broker's metadata shows it (and its partitions are in step), so a
 * client that created a topic can produce to it at once.
 */
export class TopicAdmin {
  constructor(
    private readonly meta: MetadataCache,
    private readonly kv: KvClient,
    private readonly controller: ControllerClient,
    /** Resolves once the partitions this broker hosts match its metadata. */
    private readonly settle: () => Promise<void>,
  ) {}

  async forward<T = { revision: number; topic: unknown }>(
    method: 'CreateTopic' | 'DeleteTopic' | 'AlterTopic' | 'ReassignPartition',
    raw: unknown,
  ): Promise<T & { revision: number }> {
    const res = await this.controller.call<T & { revision: number }>(method, raw, { attempts: 8 });
    if (!(await this.meta.waitFor(res.revision, PROPAGATION_MS)))
      throw new TimeoutError(
        `the change (revision ${res.revision}) is not visible on this broker yet`,
      );
    await this.settle();
    return res;
  }

  /** Topics this broker does not know yet may exist: check the store, then catch up. */
  async catchUp(names: Iterable<string>): Promise<void> {
    for (const name of names) {
      if (this.meta.topics.has(name)) continue;
      const kvRecord = await this.kv.get(MetaKeys.topic(name));
      if (kvRecord) await this.meta.waitFor(kvRecord.modRevision, PROPAGATION_MS);
    }
  }
}
