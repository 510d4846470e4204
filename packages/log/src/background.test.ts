import { describe, expect, it } from 'vitest';
import { BackgroundWork } from './background.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('BackgroundWork', () => {
  it('runs a task queued many times once, after its delay', async () => {
    const work = new BackgroundWork();
    let runs = 0;
    const task = async () => {
      runs += 1;
    };
    const queued = Date.now();
    for (let i = 0; i < 100; i++) work.after(300, task);
    expect(work.waiting).toBe(1);
    await sleep(5);
    // Not before its delay (a loaded machine may oversleep past it: then nothing is shown).
    if (Date.now() - queued < 300) expect(runs).toBe(0);
    const deadline = Date.now() + 5000;
    while (runs === 0 && Date.now() < deadline) await sleep(5);
    expect(runs).toBe(1);
    // Queued again while it runs or after: a new run.
    work.after(1, task);
    while (runs === 1 && Date.now() < deadline) await sleep(5);
    expect(runs).toBe(2);
    work.close();
  });

  it('never runs more than its concurrency at once, and drops cancelled tasks', async () => {
    const work = new BackgroundWork(3);
    let running = 0;
    let peak = 0;
    let done = 0;
    const tasks = Array.from({ length: 50 }, () => async () => {
      running += 1;
      peak = Math.max(peak, running);
      await sleep(2);
      running -= 1;
      done += 1;
    });
    for (const t of tasks) work.after(1, t);
    work.cancel(tasks[7]!);
    const deadline = Date.now() + 10_000;
    while (done < 49 && Date.now() < deadline) await sleep(5);
    await sleep(20);
    expect(done).toBe(49);
    expect(peak).toBe(3);
    expect(work.waiting).toBe(0);
    work.close();
  });

  it('a failing task does not stop the others', async () => {
    const work = new BackgroundWork(1);
    let ok = 0;
    work.after(1, async () => {
      throw new Error('disk on fire');
    });
    work.after(1, async () => {
      ok += 1;
    });
    const deadline = Date.now() + 5000;
    while (ok === 0 && Date.now() < deadline) await sleep(5);
    expect(ok).toBe(1);
    work.close();
  });
});
