import type { StrandError } from '@strand/wire';

/** The code of what `fn` throws (undefined: it did not throw). */
export function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as StrandError).code;
  }
  return undefined;
}
