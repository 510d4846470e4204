export type Format = 'table' | 'json' | 'yaml';
export const FORMATS = ['table', 'json', 'yaml'] as const;

type Cell = string | number | boolean | null | undefined;

/** Renders rows as an aligned text table (for humans; json and yaml print the data instead). */
export function table(rows: Record<string, Cell>[], empty = '(none)'): string {
  if (rows.length === 0) return empty;
  const cols = Object.keys(rows[0]!);
  const cell = (v: Cell) => (v === null || v === undefined ? '-' : String(v));
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(width[i]!))
      .join('  ')
      .trimEnd();
  return [
    line(cols.map((c) => c.toUpperCase())),
    ...rows.map((r) => line(cols.map((c) => cell(r[c])))),
  ].join('\n');
}

/** Bytes as text when they are valid UTF-8 without control characters, else base64. */
export function show(b: Buffer): string {
  const s = b.toString('utf8');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: detecting control characters is the point
  if (Buffer.from(s, 'utf8').equals(b) && !/[\u0000-\u0008\u000e-\u001f]/.test(s)) return s;
  return `base64:${b.toString('base64')}`;
}

const PLAIN = /^[A-Za-z_/][\w./@-]*$/;
const RESERVED = /^(true|false|null|yes|no|on|off|~)$/i;

function scalar(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  const s = String(v);
  // JSON's double-quoted strings are valid YAML; plain only where YAML cannot misread them.
  return PLAIN.test(s) && !RESERVED.test(s) ? s : JSON.stringify(s);
}

/** JSON-shaped data as YAML (block style; strings quoted whenever YAML could misread them). */
export function yaml(data: unknown, indent = ''): string {
  const plain = JSON.parse(JSON.stringify(data ?? null)) as unknown;
  return render(plain, indent);
}

function render(v: unknown, indent: string): string {
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    return v
      .map((x) => {
        const body = render(x, `${indent}  `);
        return isBlock(x) ? `${indent}- ${body.slice(indent.length + 2)}` : `${indent}- ${body}`;
      })
      .join('\n');
  }
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v);
    if (entries.length === 0) return '{}';
    return entries
      .map(([k, x]) =>
        isBlock(x)
          ? `${indent}${scalar(k)}:\n${render(x, `${indent}  `)}`
          : `${indent}${scalar(k)}: ${render(x, indent)}`,
      )
      .join('\n');
  }
  return scalar(v);
}

const isBlock = (x: unknown) =>
  x !== null &&
  typeof x === 'object' &&
  (Array.isArray(x) ? x.length > 0 : Object.keys(x).length > 0);

/** Writes to a stream, waiting when its pipe is full; false once the reader went away. */
export async function writeAll(stream: NodeJS.WritableStream, chunk: string): Promise<boolean> {
  const s = stream as NodeJS.WriteStream;
  if (s.destroyed) return false;
  if (s.write(chunk)) return true;
  await new Promise<void>((done) => {
    const end = () => {
      s.off('drain', end);
      s.off('close', end);
      done();
    };
    s.once('drain', end);
    s.once('close', end);
  });
  return !s.destroyed;
}

/**
 * Where commands print: one result (`result`) or a stream of items (`item`), in the format
 * the user chose with -o/--json: text for humans, one JSON document per line, or YAML
 * documents. Every command prints through here, so the formats agree across commands.
 */
export class Output {
  constructor(
    readonly format: Format,
    private readonly stdout: NodeJS.WritableStream = process.stdout,
    private readonly stderr: NodeJS.WritableStream = process.stderr,
  ) {}

  get json(): boolean {
    return this.format === 'json';
  }

  /** The command's answer: `data` for json/yaml, `text` (or its result) for humans. */
  result(data: unknown, text: string | (() => string)): void {
    this.stdout.write(`${this.render(data, text)}\n`);
  }

  /** One item of a stream (a record, an event): false once the reader left (EPIPE). */
  item(data: unknown, text: string | (() => string)): Promise<boolean> {
    return writeAll(this.stdout, `${this.render(data, text)}\n`);
  }

  /** Several items in one write. */
  items(list: { data: unknown; text: string }[]): Promise<boolean> {
    if (list.length === 0) return Promise.resolve(true);
    return writeAll(this.stdout, `${list.map((x) => this.render(x.data, x.text)).join('\n')}\n`);
  }

  /** Text that is the same in every format (help, a completion script). */
  plain(text: string): void {
    this.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  /** Columns of the terminal the output goes to (80 when it is not one), at most 100. */
  get width(): number {
    return Math.min((this.stdout as NodeJS.WriteStream).columns || 80, 100);
  }

  /** A note for the human at the terminal (stderr; never part of the data). */
  note(line: string): void {
    this.stderr.write(`${line}\n`);
  }

  private render(data: unknown, text: string | (() => string)): string {
    if (this.format === 'json') return JSON.stringify(data);
    if (this.format === 'yaml') return `---\n${yaml(data)}`;
    return typeof text === 'function' ? text() : text;
  }
}
