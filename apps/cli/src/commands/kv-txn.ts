import type { CompareOp, CompareTarget, TxnOp } from '@strand/client';
import { UsageError } from '../cli/usage.js';

/**
 * `strand kv txn` reads etcdctl's transaction format: compares, a blank line, the operations
 * to run when every compare holds, a blank line, the operations to run otherwise.
 *
 *   mod("config/version") = 7          (or value/val, version/ver, create/c, mod/m)
 *   value("lock") != "taken"
 *
 *   put config/version 8
 *   del cache/ --prefix
 *
 *   get config/version
 *
 * Keys and values are words or "double-quoted" strings (JSON escapes).
 */
export interface TxnSpec {
  compares: { key: string; target: CompareTarget; op: CompareOp; value: number | string }[];
  success: TxnOp[];
  failure: TxnOp[];
}

const TARGETS: Record<string, CompareTarget> = {
  value: 'value',
  val: 'value',
  version: 'version',
  ver: 'version',
  create: 'createRevision',
  c: 'createRevision',
  mod: 'modRevision',
  m: 'modRevision',
};

const PATH = ['kv', 'txn'];

/** Splits a line into words; "quoted" words may hold spaces and JSON escapes. */
export function words(line: string, where: string): string[] {
  const out: string[] = [];
  const re = /\s*(?:"((?:[^"\\]|\\.)*)"|([^\s"]+))/y;
  let end = 0;
  let m: RegExpExecArray | null = re.exec(line);
  while (m !== null) {
    end = re.lastIndex;
    if (m[1] !== undefined) {
      try {
        out.push(JSON.parse(`"${m[1]}"`) as string);
      } catch {
        throw new UsageError(`${where}: bad quoted text "${m[1]}"`, PATH);
      }
    } else out.push(m[2]!);
    m = re.exec(line);
  }
  if (line.slice(end).trim() !== '')
    throw new UsageError(`${where}: unclosed quote in ${JSON.stringify(line)}`, PATH);
  return out;
}

function compare(line: string, where: string): TxnSpec['compares'][number] {
  const m = /^\s*(\w+)\(\s*("(?:[^"\\]|\\.)*"|[^)\s]+)\s*\)\s*(=|!=|<|>)\s*(.+?)\s*$/.exec(line);
  const target = m ? TARGETS[m[1]!.toLowerCase()] : undefined;
  if (!m || !target)
    throw new UsageError(
      `${where}: expected a compare like mod("key") > 3 or value("key") = "v", got ${JSON.stringify(line)}`,
      PATH,
    );
  const [key] = words(m[2]!, where);
  const [raw] = words(m[4]!, where);
  if (key === undefined || raw === undefined)
    throw new UsageError(`${where}: incomplete compare`, PATH);
  if (target === 'value') return { key, target, op: m[3] as CompareOp, value: raw };
  if (!/^\d+$/.test(raw))
    throw new UsageError(`${where}: ${m[1]}() compares with a whole number, got ${raw}`, PATH);
  return { key, target, op: m[3] as CompareOp, value: Number(raw) };
}

function op(line: string, where: string): TxnOp {
  const [verb, key, ...rest] = words(line, where);
  const prefix = rest.includes('--prefix');
  const args = rest.filter((w) => w !== '--prefix');
  if (key === undefined) throw new UsageError(`${where}: ${verb} needs a KEY`, PATH);
  switch (verb) {
    case 'put':
      if (args.length !== 1 || prefix)
        throw new UsageError(`${where}: expected put KEY VALUE, got ${JSON.stringify(line)}`, PATH);
      return { put: { key, value: args[0]! } };
    case 'del':
    case 'delete':
      if (args.length > 0) throw new UsageError(`${where}: expected del KEY [--prefix]`, PATH);
      return { delete: { key, prefix } };
    case 'get':
      if (args.length > 0) throw new UsageError(`${where}: expected get KEY [--prefix]`, PATH);
      return { get: { key, prefix } };
    default:
      throw new UsageError(`${where}: unknown operation "${verb}" (put, del or get)`, PATH);
  }
}

/** Parses the whole text of a transaction. */
export function parseTxn(text: string): TxnSpec {
  const sections: { line: string; n: number }[][] = [[]];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') sections.push([]);
    else if (!line.trimStart().startsWith('#')) sections.at(-1)!.push({ line, n: i + 1 });
  });
  const parts = sections;
  if (parts.slice(3).some((s) => s.length > 0))
    throw new UsageError(
      'a transaction has three parts: compares, then success ops, then failure ops',
      PATH,
    );
  const [cmp = [], ok = [], fail = []] = parts;
  return {
    compares: cmp.map((l) => compare(l.line, `line ${l.n}`)),
    success: ok.map((l) => op(l.line, `line ${l.n}`)),
    failure: fail.map((l) => op(l.line, `line ${l.n}`)),
  };
}
