import { GLOBAL_FLAGS, targetFlags } from './globals.js';
import type { Command, FlagSpec, FlagTable } from './spec.js';
import { commandName, usageLine } from './usage.js';

/** Words wrapped to `width`; lines after the first are indented by `hang` spaces. */
export function wrap(text: string, width: number, hang = 0): string {
  const out: string[] = [];
  for (const para of text.split('\n')) {
    let line = '';
    for (const word of para.split(/ +/)) {
      if (line && line.length + 1 + word.length > width) {
        out.push(line);
        line = word;
      } else line = line ? `${line} ${word}` : word;
    }
    out.push(line);
  }
  return out.map((l, i) => (i > 0 && l ? ' '.repeat(hang) + l : l)).join('\n');
}

function flagLeft(name: string, s: FlagSpec): string {
  const short = s.short ? `-${s.short}, ` : '    ';
  return `${short}--${name}${s.kind === 'value' ? ` ${s.placeholder ?? 'VALUE'}` : ''}`;
}

function flagHelp(s: FlagSpec): string {
  const def =
    s.defaultText ??
    (s.default !== undefined && s.kind === 'value' ? String(s.default) : undefined);
  return def === undefined ? s.help : `${s.help} (default ${def})`;
}

/** Two columns: names on the left, wrapped help on the right. */
function columns(rows: [string, string][], width: number): string[] {
  const left = Math.min(Math.max(...rows.map(([l]) => l.length)) + 2, 34);
  return rows.map(([l, r]) => {
    const pad = l.length + 2 > left ? `\n${' '.repeat(left + 2)}` : ' '.repeat(left - l.length);
    return `  ${l}${pad}${wrap(r, width - left - 2, left + 2)}`;
  });
}

const flagRows = (t: FlagTable, width: number) =>
  columns(
    Object.entries(t).map(([n, s]) => [flagLeft(n, s), flagHelp(s)]),
    width,
  );

/** The help page of a command (a group lists its subcommands). */
export function helpText(path: string[], c: Command, width = 80): string {
  const parts: string[] = [];
  parts.push(wrap(c.description ?? `${c.summary[0]!.toUpperCase()}${c.summary.slice(1)}.`, width));
  parts.push(['Usage:', `  ${usageLine(path, c)}`].join('\n'));
  const subs = (c.subcommands ?? []).filter((s) => !s.hidden);
  if (subs.length > 0)
    parts.push(
      [
        'Commands:',
        ...columns(
          subs.map((s) => [[s.name, ...(s.aliases ?? [])].join(', '), s.summary]),
          width,
        ),
      ].join('\n'),
    );
  if (c.args && c.args.length > 0)
    parts.push(
      [
        'Arguments:',
        ...columns(
          c.args.map((a) => [a.name, a.help]),
          width,
        ),
      ].join('\n'),
    );
  if (c.run && c.flags && Object.keys(c.flags).length > 0)
    parts.push(['Flags:', ...flagRows(c.flags, width)].join('\n'));
  const globals: FlagTable = {
    ...(c.run && c.target ? targetFlags(c.target) : {}),
    ...GLOBAL_FLAGS,
  };
  parts.push(['Global flags:', ...flagRows(globals, width)].join('\n'));
  if (c.examples && c.examples.length > 0)
    parts.push(
      [
        'Examples:',
        ...c.examples.flatMap((e) => [
          ...(e.note
            ? wrap(e.note, width - 4)
                .split('\n')
                .map((l) => `  # ${l}`)
            : []),
          `  ${e.command}`,
        ]),
      ].join('\n'),
    );
  if (subs.length > 0)
    parts.push(`Run "${commandName(path)} <command> --help" for a command's arguments and flags.`);
  return parts.join('\n\n');
}
