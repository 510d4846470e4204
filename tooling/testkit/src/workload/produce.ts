import { Producer } from '@strand/client';

/** Where an acknowledged record was written. */
export interface Acked {
  partition: number;
  offset: number;
}

/**
 * One idempotent acks=all producer sending `p{n}-{seq}` values (keys `p{n}-k{seq % keys}`, so
 * each key's values rise) until `done()`, at most 64 in flight. Every acknowledged value goes
 * in `acked` with where it was written; `failed` counts sends that gave up.
 */
export async function produceUntil(opts: {
  bootstrap: string[];
  topic: string;
  producer: number;
  keys: number;
  done: () => boolean;
  acked: Map<string, Acked>;
  failed: { count: number };
}): Promise<void> {
  const producer = new Producer({
    bootstrap: opts.bootstrap,
    acks: 'all',
    requestTimeoutMs: 3000,
    retries: 1000,
    deliveryTimeoutMs: 120_000,
    lingerMs: 2,
  });
  const inFlight = new Set<Promise<void>>();
  for (let seq = 0; !opts.done(); seq++) {
    const value = `p${opts.producer}-${seq}`;
    const key = `p${opts.producer}-k${seq % opts.keys}`;
    const send = producer.send({ topic: opts.topic, key, value }).then(
      (m) => void opts.acked.set(value, { partition: m.partition, offset: m.offset }),
      () => {
        opts.failed.count += 1;
      },
    );
    inFlight.add(send);
    void send.finally(() => inFlight.delete(send));
    if (inFlight.size >= 64) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  await producer.close();
}
