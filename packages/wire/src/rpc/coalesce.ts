import { ErrorCode, StrandError } from '../errors/errors.js';

/** One request's outcome inside a batch answer: its answer, or an error of its own. */
export type Outcome = { ok: true; value: unknown } | { ok: false; error: StrandError };

/** How calls of one unary method travel many to one call of its batch form. */
export interface BatchMethod {
  /** The batch method's name. */
  method: string;
  /** The batch request carrying `requests`, in order. */
  request(requests: unknown[]): unknown;
  /** The batch answer as one outcome per request of it, in order. */
  outcomes(response: unknown): Outcome[];
  /** About how many bytes a request adds to a batch (batches stay below MAX_BATCH_BYTES). */
  bytes(request: unknown): number;
}

/** Requests per batch call; more made at once go in several. */
export const MAX_BATCH_REQUESTS = 500;
/** A batch's estimated size: well below the 4 MiB a gRPC server takes by default. */
export const MAX_BATCH_BYTES = 1024 * 1024;

export interface Waiting {
  request: unknown;
  resolve: (value: unknown) => void;
  reject: (err: StrandError) => void;
}

interface Gathering {
  waiting: Waiting[];
  bytes: number;
  sent: boolean;
  send: (waiting: Waiting[]) => void;
}

const gathering = new Map<string, Gathering>();

/**
 * Adds a request to the batch gathering under `key` this turn of the event loop; the first
 * request of a batch says how the batch is sent (`send`, once the turn is over or the batch
 * is full). Every call site of a process shares the batches, whatever client made it.
 */
export function gather<T>(
  key: string,
  request: unknown,
  bytes: number,
  send: (waiting: Waiting[]) => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let g = gathering.get(key);
    if (g && (g.waiting.length >= MAX_BATCH_REQUESTS || g.bytes + bytes > MAX_BATCH_BYTES)) {
      release(key, g);
      g = undefined;
    }
    if (!g) {
      const fresh: Gathering = { waiting: [], bytes: 0, sent: false, send };
      gathering.set(key, fresh);
      setImmediate(() => release(key, fresh));
      g = fresh;
    }
    g.waiting.push({ request, resolve: resolve as (v: unknown) => void, reject });
    g.bytes += bytes;
  });
}

/** Sends a batch, once (the timer of a batch sent early, full, finds it sent). */
function release(key: string, g: Gathering): void {
  if (gathering.get(key) === g) gathering.delete(key);
  if (g.sent) return;
  g.sent = true;
  g.send(g.waiting);
}

/** Hands each waiting request its outcome from a batch answer. */
export function settle(waiting: Waiting[], outcomes: Outcome[]): void {
  waiting.forEach((w, i) => {
    const o = outcomes[i];
    if (!o)
      w.reject(
        new StrandError(
          ErrorCode.Internal,
          `the batch answer has ${outcomes.length} results for ${waiting.length} requests`,
        ),
      );
    else if (o.ok) w.resolve(o.value);
    else w.reject(o.error);
  });
}

/** Addresses (with the batch method) that answered UNIMPLEMENTED: single calls from then on. */
const unsupported = new Set<string>();

export const batchUnsupported = (address: string, method: string): boolean =>
  unsupported.has(`${address}\u0000${method}`);

export function noteBatchUnsupported(address: string, method: string): void {
  unsupported.add(`${address}\u0000${method}`);
}

const ids = new WeakMap<object, number>();
let nextId = 1;

/** A number standing for one object (0: none), to tell credentials apart in a batch's key. */
export function identity(o: object | undefined): number {
  if (!o) return 0;
  let id = ids.get(o);
  if (id === undefined) {
    id = nextId++;
    ids.set(o, id);
  }
  return id;
}
