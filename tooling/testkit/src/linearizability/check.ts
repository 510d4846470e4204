import type { Model, Operation } from './model.js';

export type CheckResult =
  | { ok: true }
  | { ok: false; partition?: string; explanation: string }
  | { ok: 'unknown'; reason: 'timeout' };

export interface CheckOptions<I, O> {
  /** Split the history into independent parts (P-compositionality), e.g. by key. */
  partition?: (op: Operation<I, O>) => string;
  /** Give up (result 'unknown') after this long; the search is exponential in the worst case. */
  timeoutMs?: number;
}

interface Entry {
  id: number;
  isCall: boolean;
  time: number;
  match: Entry | undefined; // call -> its return
  prev: Entry | undefined;
  next: Entry | undefined;
}

/** The time-ordered list of calls and returns; an op that never returned returns at +∞. */
function buildList<I, O>(ops: Operation<I, O>[]): Entry {
  const entries: Entry[] = [];
  ops.forEach((op, id) => {
    const ret: Entry = {
      id,
      isCall: false,
      time: op.ret ?? Number.POSITIVE_INFINITY,
      match: undefined,
      prev: undefined,
      next: undefined,
    };
    const call: Entry = {
      id,
      isCall: true,
      time: op.call,
      match: ret,
      prev: undefined,
      next: undefined,
    };
    entries.push(call, ret);
  });
  // At equal times calls sort first: touching operations count as concurrent.
  entries.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? 0 : a.isCall ? -1 : 1));
  const head: Entry = {
    id: -1,
    isCall: false,
    time: Number.NEGATIVE_INFINITY,
    match: undefined,
    prev: undefined,
    next: undefined,
  };
  let last = head;
  for (const e of entries) {
    last.next = e;
    e.prev = last;
    last = e;
  }
  return head;
}

function unlink(e: Entry): void {
  e.prev!.next = e.next;
  if (e.next) e.next.prev = e.prev;
}

function relink(e: Entry): void {
  e.prev!.next = e;
  if (e.next) e.next.prev = e;
}

/** Removes a call and its return from the list (the operation is linearized). */
function lift(call: Entry): void {
  unlink(call);
  unlink(call.match!);
}

function unlift(call: Entry): void {
  relink(call.match!);
  relink(call);
}

class Bits {
  private readonly words: Uint32Array;
  constructor(n: number) {
    this.words = new Uint32Array(Math.ceil(n / 32) + 1);
  }
  set(i: number): void {
    this.words[i >>> 5]! |= 1 << (i & 31);
  }
  clear(i: number): void {
    this.words[i >>> 5]! &= ~(1 << (i & 31));
  }
  key(): string {
    return this.words.join(',');
  }
}

/**
 * Wing & Gong's search for a linearization with Lowe's memoisation: a configuration
 * (set of linearized operations, model state) already explored is never explored again.
 */
function checkPart<S, I, O>(
  model: Model<S, I, O>,
  ops: Operation<I, O>[],
  deadline: number,
): boolean | 'timeout' {
  const head = buildList(ops);
  const linearized = new Bits(ops.length);
  const seen = new Set<string>();
  const stack: { call: Entry; state: S }[] = [];
  let state = model.init();
  let entry = head.next;
  let steps = 0;
  while (head.next !== undefined) {
    if ((++steps & 0xfff) === 0 && performance.now() > deadline) return 'timeout';
    if (entry === undefined) return false;
    if (entry.isCall) {
      const op = ops[entry.id]!;
      const result = model.step(state, op.input, op.ret === undefined ? undefined : op.output);
      if (result.ok) {
        linearized.set(entry.id);
        const key = `${linearized.key()}|${model.hash(result.state)}`;
        if (!seen.has(key)) {
          seen.add(key);
          stack.push({ call: entry, state });
          state = result.state;
          lift(entry);
          entry = head.next;
          continue;
        }
        linearized.clear(entry.id);
      }
      entry = entry.next;
    } else {
      // A return reached before its call was linearized: undo the last choice.
      const top = stack.pop();
      if (!top) return false;
      state = top.state;
      linearized.clear(top.call.id);
      unlift(top.call);
      entry = top.call.next;
    }
  }
  return true;
}

/** Checks a history against a sequential model; see `CheckResult`. */
export function checkLinearizability<S, I, O>(
  model: Model<S, I, O>,
  ops: Operation<I, O>[],
  opts: CheckOptions<I, O> = {},
): CheckResult {
  const deadline = performance.now() + (opts.timeoutMs ?? 60_000);
  const parts = new Map<string, Operation<I, O>[]>();
  for (const op of ops) {
    const key = opts.partition ? opts.partition(op) : '';
    let list = parts.get(key);
    if (!list) {
      list = [];
      parts.set(key, list);
    }
    list.push(op);
  }
  for (const [key, part] of parts) {
    const result = checkPart(model, part, deadline);
    if (result === 'timeout') return { ok: 'unknown', reason: 'timeout' };
    if (!result) {
      const shown = part
        .slice()
        .sort((a, b) => a.call - b.call)
        .slice(0, 20)
        .map(
          (op) =>
            `  [${op.call}, ${op.ret ?? '∞'}] client ${op.client}: ${model.describe?.(op.input, op.output) ?? JSON.stringify(op.input)}`,
        );
      return {
        ok: false,
        ...(opts.partition ? { partition: key } : {}),
        explanation: `no linearization of ${part.length} operations${opts.partition ? ` for ${key}` : ''}; first ones:\n${shown.join('\n')}`,
      };
    }
  }
  return { ok: true };
}

/** Partition a key-value history by key. */
export const byKey = <I extends { key: string }, O>(op: Operation<I, O>): string => op.input.key;
