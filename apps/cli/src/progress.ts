/**
 * A one-line progress indicator on stderr, drawn only when stderr is a terminal (so scripts and
 * pipes never see it). With a known total (bytes of an input file) it draws a bar, else a counter.
 */
export class Progress {
  private last = 0;
  private drawn = false;
  private readonly started = Date.now();

  constructor(
    private readonly verb: string,
    private readonly total?: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly enabled = stream.isTTY === true,
  ) {}

  /** `count` records so far, `done` units (bytes) of `total`; redrawn at most 10 times a second. */
  update(count: number, done?: number): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.last < 100) return;
    this.last = now;
    this.stream.write(`\r${this.render(count, done, now)}\u001b[K`);
    this.drawn = true;
  }

  /** Erases the line (the summary goes to stdout). */
  finish(): void {
    if (this.drawn) this.stream.write('\r\u001b[K');
    this.drawn = false;
  }

  render(count: number, done: number | undefined, now = Date.now()): string {
    const secs = Math.max((now - this.started) / 1000, 0.001);
    const rate = Math.round(count / secs);
    const text = `${this.verb} ${count.toLocaleString('en-US')} records (${rate.toLocaleString('en-US')}/s)`;
    if (!this.total || done === undefined) return text;
    const frac = Math.min(done / this.total, 1);
    const width = 30;
    const full = Math.round(frac * width);
    return `[${'#'.repeat(full)}${'-'.repeat(width - full)}] ${String(Math.floor(frac * 100)).padStart(3)}%  ${text}`;
  }
}
