import type { Socket } from 'node:net';

export interface ConnectionLimits {
  /** A request larger than this closes the connection (Kafka's socket.request.max.bytes). */
  maxRequestBytes: number;
  /** Reading stops while requests and unsent responses hold more than this. */
  maxInflightBytes: number;
  /** ... or while this many requests are unanswered. */
  maxInflightRequests: number;
  /** A connection with no traffic either way for this long is closed (connections.max.idle.ms). */
  idleMs: number;
}

/** Answers one request frame (the bytes after its size): response chunks, or none. */
export type FrameHandler = (frame: Buffer) => Promise<Buffer[] | 'none' | 'close'>;

interface Slot {
  bytes: number;
  done: boolean;
  chunks: Buffer[] | 'none' | 'close' | undefined;
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

  constructor(
    private readonly socket: Socket,
    private readonly limits: ConnectionLimits,
    private readonly handle: FrameHandler,
    private readonly log: (line: string) => void,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.received(chunk));
    socket.on('drain', () => this.maybeResume());
    socket.on('error', () => this.close());
    socket.on('close', () => this.close());
    socket.setTimeout(limits.idleMs, () => this.close());
    socket.resume(); // the listener paused it to look at its first bytes
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
  }

  private received(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    while (!this.closed && this.buffered >= 4) {
      const size = this.peekSize();
      if (size < 8 || size > this.limits.maxRequestBytes) {
        this.log(
          `kafka: closing ${this.socket.remoteAddress}:${this.socket.remotePort}: a request of ${size} bytes (limit ${this.limits.maxRequestBytes})`,
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
    const slot: Slot = { bytes: frame.length, done: false, chunks: undefined };
    this.queue.push(slot);
    this.inflightBytes += slot.bytes;
    this.maybePause();
    this.handle(frame).then(
      (chunks) => {
        slot.done = true;
        slot.chunks = chunks;
        this.flush();
      },
      (err: unknown) => {
        this.log(
          `kafka: closing ${this.socket.remoteAddress}:${this.socket.remotePort}: ${(err as Error).message}`,
        );
        this.close();
      },
    );
  }

  /** Writes every answer that is ready, in request order. */
  private flush(): void {
    if (this.closed) return;
    this.socket.cork();
    while (this.queue[0]?.done) {
      const slot = this.queue.shift()!;
      this.inflightBytes -= slot.bytes;
      if (slot.chunks === 'close') {
        this.socket.uncork();
        this.close();
        return;
      }
      if (slot.chunks !== 'none' && slot.chunks) for (const c of slot.chunks) this.socket.write(c);
    }
    this.socket.uncork();
    this.maybePause(); // a client that does not read its answers gets no more
    this.maybeResume();
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
  }
}
