import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { freePort, ProcessRegistry, tempDir } from './process.js';

const dir = tempDir();
const registry = new ProcessRegistry();
afterEach(() => registry.stopAll());
afterAll(() => dir.cleanup());

const script = join(dir.path, 'ticker.mjs');
writeFileSync(
  script,
  // The handler goes in before the ready line: a test may signal as soon as it reads it.
  `let n = 0;
const t = setInterval(() => console.log('tick ' + n++), 20);
process.on('SIGTERM', () => { clearInterval(t); console.log('bye'); process.exit(0); });
console.log('ready ' + process.pid);
`,
);

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const chatty = join(dir.path, 'chatty.mjs');
writeFileSync(
  chatty,
  // More lines than the buffer keeps, twice, then the ready line.
  `const burst = (from) => process.stdout.write(Array.from({ length: 600 }, (_, i) => 'line ' + (from + i) + '\\n').join(''));
burst(0);
setTimeout(() => burst(600), 100);
setTimeout(() => console.log('ready at last'), 200);
setInterval(() => undefined, 1000);
`,
);

describe('ProcessRegistry', () => {
  it('sees a ready line that follows more output than it keeps', async () => {
    const p = await registry.start(chatty, { readyLine: /^ready at last$/ });
    expect(p.lines.length).toBeLessThanOrEqual(500);
    expect(p.lines.at(-1)).toBe('ready at last');
    expect(p.lines).toContain('line 1199');
  });

  it('starts a process, waits for its ready line and kills it by pid', async () => {
    const p = await registry.start(script, { readyLine: /^ready/ });
    expect(isAlive(p.pid)).toBe(true);
    await p.kill9();
    expect(isAlive(p.pid)).toBe(false);
  });

  it('pauses and resumes with SIGSTOP/SIGCONT', async () => {
    const p = await registry.start(script, { readyLine: /^ready/ });
    await p.waitFor(/tick 2/);
    p.pause();
    await new Promise((r) => setTimeout(r, 60));
    const paused = p.lines.length;
    await new Promise((r) => setTimeout(r, 200));
    expect(p.lines.length).toBe(paused);
    p.resume();
    await p.waitFor(new RegExp(`tick ${paused + 2}`));
  });

  it('terminates gracefully and reports a clear error when a line never comes', async () => {
    const p = await registry.start(script, { readyLine: /^ready/ });
    expect(await p.terminate()).toBe(0);
    expect(p.output()).toMatch(/bye/);
    const q = registry.spawnNode(script);
    await expect(q.waitFor(/never/, 200)).rejects.toThrow(/did not print/);
  });

  it('ends every process it started', async () => {
    const ps = await Promise.all(
      [1, 2, 3].map(() => registry.start(script, { readyLine: /^ready/ })),
    );
    await registry.stopAll();
    for (const p of ps) expect(isAlive(p.pid)).toBe(false);
  });

  it('finds free ports below the ephemeral range, each handed out once', async () => {
    const ports = await Promise.all(Array.from({ length: 50 }, () => freePort()));
    expect(new Set(ports).size).toBe(50);
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(10_000);
      expect(port).toBeLessThan(32_768);
    }
  });
});
