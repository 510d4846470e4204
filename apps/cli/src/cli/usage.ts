import { InvalidRequestError } from '@strand/wire';
import type { ArgSpec, Command } from './spec.js';

/** What the user typed is wrong (exit status 2); `path` names the command whose help explains it. */
export class UsageError extends InvalidRequestError {
  constructor(
    message: string,
    readonly path: string[] = [],
  ) {
    super(message);
  }
}

/** `strand topic create` */
export const commandName = (path: string[]) => ['strand', ...path].join(' ');

const argText = (a: ArgSpec) => {
  const name = a.variadic ? `${a.name}...` : a.name;
  return a.optional ? `[${name}]` : name;
};

/** The synopsis: `strand topic create NAME [flags]` or `strand topic <command>`. */
export function usageLine(path: string[], c: Command): string {
  if (c.subcommands && !c.run) return `${commandName(path)} <command> [flags]`;
  const args = (c.args ?? []).map(argText);
  return [commandName(path), ...args, '[flags]'].join(' ');
}

/** Edit distance (for "did you mean"). */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

/** The nearest candidate, if it is near enough to be what was meant. */
export function nearest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const d = c.startsWith(word) && word.length >= 3 ? 0.5 : distance(word, c);
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}
