import { describe, expect, it } from 'vitest';
import { FetchMemory } from './fetch-memory.js';

describe('FetchMemory', () => {
  it('grants while the broker and the connection have room, then queues in arrival order', async () => {
    const m = new FetchMemory(100, 60);
    const a = m.lease('a');
    expect(await a.reserve(50, 0)).toBe(true);
    // The connection's bound: a lease that holds something does not wait for more.
    expect(await a.reserve(20, 1000)).toBe(false);
    const b = m.lease('b');
    expect(await b.reserve(40, 0)).toBe(true);
    expect(m.inFlight).toBe(90);
    const order: string[] = [];
    const c = m.lease('c');
    const d = m.lease('d');
    const cWaits = c.reserve(30, 5000).then((ok) => order.push(`c:${ok}`));
    const dWaits = d.reserve(5, 5000).then((ok) => order.push(`d:${ok}`));
    await new Promise((r) => setTimeout(r, 10));
    expect(order).toEqual([]); // d would fit, but c came first
    a.release();
    await Promise.all([cWaits, dWaits]);
    expect(order).toEqual(['c:true', 'd:true']);
    expect(m.inFlight).toBe(75);
    for (const l of [b, c, d]) l.release();
    expect(m.inFlight).toBe(0);
    expect(m.peak).toBe(90);
  });

  it('grants a reservation larger than a bound when nothing is held, so a big batch still goes out', async () => {
    const m = new FetchMemory(100, 100);
    const big = m.lease('a');
    expect(await big.reserve(500, 0)).toBe(true);
    const other = m.lease('b');
    expect(await other.reserve(1, 20)).toBe(false); // timed out: the big one holds everything
    big.release();
    expect(await other.reserve(1, 20)).toBe(true);
    other.release();
    expect(m.inFlight).toBe(0);
  });

  it("a connection at its own bound does not hold up other connections' reservations", async () => {
    const m = new FetchMemory(100, 30);
    const stuck = m.lease('a');
    expect(await stuck.reserve(30, 0)).toBe(true);
    // Connection a's next answers wait for a's share, not for the broker's memory...
    const more = [m.lease('a'), m.lease('a')];
    const waiting = more.map((l) => l.reserve(10, 5000));
    // ...so b goes ahead at once, whether it finds room or waits for it.
    const b = m.lease('b');
    expect(await b.reserve(30, 0)).toBe(true);
    const c = m.lease('c');
    const cWaits = c.reserve(50, 5000);
    expect(m.inFlight).toBe(110 - 50);
    b.release();
    expect(await cWaits).toBe(true);
    stuck.release();
    expect(await Promise.all(waiting)).toEqual([true, true]);
    for (const l of [...more, c]) l.release();
    expect(m.inFlight).toBe(0);
  });

  it('gives back unused reservations, and a released lease reserves nothing more', async () => {
    const m = new FetchMemory(100, 100);
    const l = m.lease('a');
    expect(await l.reserve(80, 0)).toBe(true);
    l.unreserve(70);
    expect([l.bytes, m.inFlight]).toEqual([10, 10]);
    l.release();
    l.release();
    expect(await l.reserve(10, 0)).toBe(false);
    expect(m.inFlight).toBe(0);
  });
});
