import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { strand } from '../commands/index.js';
import { bashCompletion, zshCompletion } from './completion.js';

/** What bash offers for the words typed so far (the last one is being completed). */
function bash(...typed: string[]): string[] {
  const words = ['strand', ...typed].map((w) => `'${w}'`).join(' ');
  const script = `${bashCompletion(strand)}
COMP_WORDS=(${words}); COMP_CWORD=${typed.length}; _strand; printf '%s\\n' "\${COMPREPLY[@]}"`;
  return execFileSync('bash', ['-c', script], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

/** The same in zsh, with compadd and _files standing in for the completion system. */
function zsh(...typed: string[]): string[] {
  const words = ['strand', ...typed].map((w) => `'${w}'`).join(' ');
  const script = `compadd() { shift; print -l -- "$@"; }
_files() { print -- '<files>'; }
${zshCompletion(strand)}
words=(${words}); CURRENT=${typed.length + 1}; _strand`;
  const all = execFileSync('zsh', ['-f', '-c', script], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);
  const cur = typed.at(-1) ?? '';
  return all.filter((w) => w === '<files>' || w.startsWith(cur));
}

describe('shell completion from the command table', () => {
  for (const [shell, complete] of [
    ['bash', bash],
    ['zsh', zsh],
  ] as const) {
    it(`${shell}: commands, subcommands, flags and flag values`, () => {
      expect(complete('')).toEqual(
        expect.arrayContaining(['dev', 'topic', 'produce', 'consume', 'kv', 'completion']),
      );
      expect(complete('to')).toEqual(['topic']);
      expect(complete('topic', '')).toEqual([
        'create',
        'list',
        'describe',
        'alter',
        'delete',
        'reassign',
      ]);
      expect(complete('kv', 'lease', 'k')).toEqual(['keep-alive']);
      expect(complete('topic', 'create', 'x', '--pa')).toEqual([
        '--partitions',
        '--password',
        '--password-stdin',
      ]);
      expect(complete('topic', 'create', 'x', '--par')).toEqual(['--partitions']);
      expect(complete('consume', 't', '--format', '')).toEqual(['value', 'kv', 'json']);
      expect(complete('kv', 'get', 'k', '--consistency', 's')).toEqual(['stale']);
      expect(complete('topic', 'list', '-o', '')).toEqual(['table', 'json', 'yaml']);
      expect(complete('completion', '')).toEqual(expect.arrayContaining(['bash', 'zsh']));
      // A flag that takes a free value: files, not commands.
      expect(complete('produce', 't', '--file', '')).not.toContain('--acks');
      // Values are not mistaken for commands.
      expect(complete('consume', 'topic', '--')).toContain('--from-beginning');
    });
  }
});
