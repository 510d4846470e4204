/**
 * A sequential specification. `step` applies `input` to `state` and says whether `output`
 * (undefined when the operation never returned) is what the specification allows.
 * `hash` must give equal strings for equal states: it keys the memo of visited configurations.
 */
export interface Model<S, I, O> {
  init(): S;
  step(state: S, input: I, output: O | undefined): { ok: boolean; state: S };
  hash(state: S): string;
  describe?(input: I, output?: O): string;
}

/**
 * One client operation from a history. `call` and `ret` are times on one clock. An operation
 * without `ret` never returned (timed out, the client crashed): it may or may not have taken
 * effect, and it may take effect at any time after its call.
 */
export interface Operation<I, O> {
  client: number;
  input: I;
  output?: O;
  call: number;
  ret?: number;
}

export type KvInput =
  | { op: 'put'; key: string; value: string }
  | { op: 'get'; key: string }
  | { op: 'cas'; key: string; expected: string | null; value: string };

export type KvOutput = { value: string | null } | { ok: boolean } | Record<string, never>;

/** One register per key (partition histories by key to check keys independently). */
export const kvModel: Model<string | null, KvInput, KvOutput> = {
  init: () => null,
  step(state, input, output) {
    switch (input.op) {
      case 'put':
        return { ok: true, state: input.value };
      case 'get': {
        if (output === undefined || !('value' in output)) return { ok: true, state };
        return { ok: output.value === state, state };
      }
      case 'cas': {
        const matches = input.expected === state;
        if (output === undefined || !('ok' in output)) {
          return { ok: true, state: matches ? input.value : state };
        }
        if (output.ok) return { ok: matches, state: matches ? input.value : state };
        return { ok: !matches, state };
      }
    }
  },
  hash: (state) => (state === null ? '\u0000null' : `=${state}`),
  describe(input, output) {
    const out = output === undefined ? '?' : JSON.stringify(output);
    if (input.op === 'put') return `put(${input.key}, ${input.value}) -> ${out}`;
    if (input.op === 'get') return `get(${input.key}) -> ${out}`;
    return `cas(${input.key}, ${input.expected} -> ${input.value}) -> ${out}`;
  },
};
