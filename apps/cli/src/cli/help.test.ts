import { describe, expect, it } from 'vitest';
import { strand } from '../commands/index.js';
import { helpText } from './help.js';
import { flagsOf } from './parse.js';
import type { Command } from './spec.js';

/** Every command of the table with its words. */
function all(c: Command, path: string[] = []): { path: string[]; c: Command }[] {
  return [{ path, c }, ...(c.subcommands ?? []).flatMap((s) => all(s, [...path, s.name]))];
}

describe('help from the command table', () => {
  it('every command has a summary, every runnable one an example, every flag its help', () => {
    for (const { path, c } of all(strand)) {
      const name = ['strand', ...path].join(' ');
      expect(c.summary, name).toMatch(/^[a-zS]/);
      if (!c.run) continue;
      expect(c.examples?.length ?? 0, `${name} has no example`).toBeGreaterThan(0);
      for (const e of c.examples ?? []) expect(e.command, name).toMatch(/strand /);
      for (const [flag, spec] of Object.entries(flagsOf(c)))
        expect(spec.help, `${name} --${flag}`).not.toBe('');
    }
  });

  it("a command's page has its usage, arguments, flags with defaults, globals and examples", () => {
    const create = strand
      .subcommands!.find((c) => c.name === 'topic')!
      .subcommands!.find((c) => c.name === 'create')!;
    const text = helpText(['topic', 'create'], create);
    expect(text).toMatch(/^Create a topic\.$/m);
    expect(text).toContain('strand topic create NAME [flags]');
    expect(text).toMatch(/^ {6}--partitions N +how many partitions .*\(default\s+1\)/m);
    expect(text).toMatch(/--bootstrap host:port\[,\.\.\.\] +any brokers of the cluster/);
    expect(text).toMatch(/\$STRAND_BOOTSTRAP, then 127\.0\.0\.1:9092/);
    expect(text).toMatch(/^ {2}strand topic create events --partitions 3/m);
    for (const line of text.split('\n')) expect(line.length, line).toBeLessThanOrEqual(80);
  });

  it('a group lists its commands; the root lists every command', () => {
    const kv = strand.subcommands!.find((c) => c.name === 'kv')!;
    const text = helpText(['kv'], kv);
    expect(text).toContain('strand kv <command> [flags]');
    for (const sub of ['put', 'get', 'range', 'del', 'watch', 'txn', 'lease', 'members'])
      expect(text).toMatch(new RegExp(`^  ${sub}\\b`, 'm'));
    const root = helpText([], strand);
    for (const c of strand.subcommands!) expect(root).toMatch(new RegExp(`^  ${c.name}\\b`, 'm'));
  });
});
