import { describe, expect, it } from 'vitest';
import { ArrivalOrder } from './arrival-order.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A partition that opens after `opensInMs`; its lookups as the broker's are. */
function opening(opensInMs: number) {
  let open = false;
  const opened = sleep(opensInMs).then(() => {
    open = true;
  });
  return {
    now: () => (open ? 'leader' : undefined),
    // Like the broker's sync: done some time after the partition is usable.
    wait: async () => {
      await opened;
      await sleep(10);
      return 'leader';
    },
  };
}

describe('ArrivalOrder', () => {
  it('answers at once when nobody waits and the answer is there', async () => {
    const order = new ArrivalOrder<string>();
    let waited = false;
    const v = await order.run(
      'p',
      () => 1,
      async () => {
        waited = true;
        return 2;
      },
    );
    expect([v, waited, order.waiting]).toEqual([1, false, 0]);
  });

  it('a caller that comes while another waits is answered after it, in arrival order', async () => {
    const order = new ArrivalOrder<string>();
    const p = opening(5);
    const appended: string[] = [];
    // As a produce request: look the leader up, then append (one more await, as the caller's).
    const produce = async (name: string) => {
      await order.run('t-0', p.now, p.wait);
      appended.push(name);
    };
    const first = produce('first');
    await sleep(8); // the partition is open now, but `first` still waits for the sync
    const second = produce('second');
    const third = produce('third');
    await Promise.all([first, second, third]);
    expect(appended).toEqual(['first', 'second', 'third']);
    expect(order.waiting).toBe(0);
  });

  it('keys do not wait for each other', async () => {
    const order = new ArrivalOrder<string>();
    const p = opening(20);
    const appended: string[] = [];
    const slow = order.run('a', p.now, p.wait).then(() => appended.push('a'));
    await order.run(
      'b',
      () => 'leader',
      async () => 'leader',
    );
    appended.push('b');
    await slow;
    expect(appended).toEqual(['b', 'a']);
  });

  it('a waiter that fails does not stop the ones behind it', async () => {
    const order = new ArrivalOrder<string>();
    let calls = 0;
    const failing = order.run(
      'p',
      () => undefined,
      async () => {
        calls += 1;
        await sleep(5);
        throw new Error('not the leader');
      },
    );
    const next = order.run(
      'p',
      () => undefined,
      async () => {
        calls += 1;
        return 'leader';
      },
    );
    await expect(failing).rejects.toThrow('not the leader');
    await expect(next).resolves.toBe('leader');
    expect([calls, order.waiting]).toEqual([2, 0]);
  });
});
