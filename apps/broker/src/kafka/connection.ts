import type { Socket } from 'node:net';
import type { LogSink } from '@strand/wire';

export interface ConnectionLimits {
  /**
   * A request larger than this closes the connection (Kafka's socket.request.max.bytes); asked
   * before each request, so it can be smaller until the client has authenticated.
   */
  maxRequestBytes: number | (() => number);
  /** Reading stops while requests and unsent responses hold more than this. */
  maxInflightBytes: number;
  /** ... or while this many requests are unanswered. */
  maxInflightRequests: number;
  /** A connection with no traffic either way for this long is closed (connections.max.idle.ms). */
  idleMs: number;
}

/**
 * One request's answer: response chunks, none (acks=0), or the connection closed; and what to
 * run once the chunks have been written to the socket (or the connection is gone).
 */
export interface FrameAnswer {
  chunks: Buffer[] | 'none' | 'close';
  sent?: () => void;
  /** The connection closes once these chunks are written (a refusal the client should read). */
  thenClose?: boolean;
}

/** Answers one request frame (the bytes after its size). */
export type FrameHandler = (frame: Buffer) => Promise<FrameAnswer>;

interface Slot {
  bytes: number;
  answer: FrameAnswer | undefined;
}

/**
 * One Kafka client connection: size-prefixed requests, any number in flight (each is handled
 * as soon as it arrives, in arrival order), answers written strictly in request order.
 * Back-pressure instead of buffering: the socket is paused while too many bytes or requests
 * are in flight, or while the client does not read its answers.
 */
export class KafkaConnection {
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  private readonly queue: Slot[] = [];
  private inflightBytes = 0;
  private paused = false;
  private closed = false;
  /** An answer that ends the connection is being written: nothing more is read or sent. */
  private ending = false;
  /** `sent` of answers handed to the socket and not yet written out. */
  private readonly writing = new Set<() => void>();

  constructor(
    private readonly socket: Socket,
    private readonly limits: ConnectionLimits,
    private readonly handle: FrameHandler,
    private readonly log: LogSink,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.received(chunk));
    socket.on('drain', () => this.maybeResume());
    socket.on('error', () => this.close());
    socket.on('close', () => this.close());
    socket.setTimeout(limits.idleMs, () => this.close());
    socket.resume(); // the listener paused it to look at its first bytes
  }

  /** Whether the connection is over (closed, or closing once its last answer is written). */
  private get isClosed(): boolean {
    return this.closed || this.ending;
  }

  /** The client's address and port, for the log. */
  private remote(): string {
    return `${this.socket.remoteAddress}:${this.socket.remotePort}`;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    for (const slot of this.queue) slot.answer?.sent?.();
    for (const sent of this.writing) sent();
    this.writing.clear();
  }

  private received(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    this.parse();
  }

  /** Dispatches the buffered requests, until over the in-flight bounds (then on resume). */
  private parse(): void {
    while (!this.isClosed && !this.paused && this.buffered >= 4) {
      const size = this.peekSize();
      const { maxRequestBytes } = this.limits;
      const limit = typeof maxRequestBytes === 'number' ? maxRequestBytes : maxRequestBytes();
      // Checked on the size alone, before anything of the request is kept.
      if (size < 1 || size > limit) {
        this.log(
          { remote: this.remote(), size, limit },
          'kafka: closing a connection: request too large',
        );
        this.close();
        return;
      }
      if (this.buffered < 4 + size) break;
      this.take(4);
      this.dispatch(this.take(size));
    }
  }

  private peekSize(): number {
    const first = this.chunks[0]!;
    if (first.length >= 4) return first.readInt32BE(0);
    return Buffer.concat(this.chunks, 4).readInt32BE(0);
  }

  /** The next `n` buffered bytes: a view of one chunk when they lie in one, else a copy. */
  private take(n: number): Buffer {
    this.buffered -= n;
    const first = this.chunks[0]!;
    if (first.length > n) {
      this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    if (first.length === n) return this.chunks.shift()!;
    const out = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const c = this.chunks[0]!;
      const used = Math.min(c.length, n - at);
      c.copy(out, at, 0, used);
      at += used;
      if (used === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(used);
    }
    return out;
  }

  private dispatch(frame: Buffer): void {
    const slot: Slot = { bytes: frame.length, answer: undefined };
    this.queue.push(slot);
    this.inflightBytes += slot.bytes;
    this.maybePause();
    this.handle(frame).then(
      (answer) => {
        if (this.closed) {
          answer.sent?.();
          return;
        }
        slot.answer = answer;
        this.flush();
      },
      (err: unknown) => {
        this.log(
          { remote: this.remote(), reason: (err as Error).message },
          'kafka: closing a connection',
        );
        this.close();
      },
    );
  }

  /** Writes every answer that is ready, in request order. */
  private flush(): void {
    if (this.isClosed) return;
    this.socket.cork();
    for (let slot = this.queue[0]; slot?.answer; slot = this.queue[0]) {
      const { chunks, sent } = slot.answer;
      this.queue.shift();
      this.inflightBytes -= slot.bytes;
      if (chunks === 'close') {
        this.socket.uncork();
        sent?.();
        this.close();
        return;
      }
      if (slot.answer.thenClose) {
        this.socket.uncork();
        this.endAfter(chunks === 'none' ? [] : chunks, sent);
        return;
      }
      if (chunks === 'none' || chunks.length === 0) sent?.();
      else this.write(chunks, sent);
    }
    this.socket.uncork();
    this.maybePause(); // a client that does not read its answers gets no more
    this.maybeResume();
  }

  /** Writes `chunks`, then closes: the client reads why before the connection ends. */
  private endAfter(chunks: Buffer[], sent: (() => void) | undefined): void {
    this.ending = true;
    this.socket.pause();
    this.socket.end(Buffer.concat(chunks), () => {
      sent?.();
      this.close();
    });
    // A client that does not read its last answer does not keep the connection.
    setTimeout(() => this.close(), 5000).unref();
  }

  private write(chunks: Buffer[], sent: (() => void) | undefined): void {
    const last = chunks.length - 1;
    chunks.forEach((c, i) => {
      if (i < last || !sent) this.socket.write(c);
      else {
        this.writing.add(sent);
        this.socket.write(c, () => {
          if (this.writing.delete(sent)) sent();
        });
      }
    });
  }

  private overLimits(): boolean {
    return (
      this.inflightBytes + this.socket.writableLength > this.limits.maxInflightBytes ||
      this.queue.length >= this.limits.maxInflightRequests
    );
  }

  private maybePause(): void {
    if (this.paused || !this.overLimits()) return;
    this.paused = true;
    this.socket.pause();
  }

  private maybeResume(): void {
    if (!this.paused || this.closed || this.overLimits()) return;
    this.paused = false;
    this.socket.resume();
    this.parse();
  }
}
