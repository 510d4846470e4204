import type { ConsumerRecord } from '@strand/client';

/** How a key, value or header shows: JSON pretty-printed, text, or hex for binary. */
export type Shown = { kind: 'json' | 'text' | 'hex' | 'null'; text: string };

/** Text without control characters (tabs and line breaks aside). */
function printable(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || c === 0x7f) return false;
  }
  return true;
}

export function showBytes(b: Buffer | null): Shown {
  if (b === null) return { kind: 'null', text: '' };
  const text = b.toString('utf8');
  // Not UTF-8 (the round trip changes it) or control characters: bytes, as hex.
  if (!Buffer.from(text, 'utf8').equals(b) || !printable(text))
    return { kind: 'hex', text: b.toString('hex').replace(/(..)(?!$)/g, '$1 ') };
  const t = text.trim();
  if ((t.startsWith('{') && t.endsWith('}')) || (t.startsWith('[') && t.endsWith(']'))) {
    try {
      return { kind: 'json', text: JSON.stringify(JSON.parse(t), null, 2) };
    } catch {
      // text that merely looks like JSON
    }
  }
  return { kind: 'text', text };
}

/** A record as the browser and the exports show it. */
export interface ShownRecord {
  partition: number;
  offset: number;
  timestamp: number;
  key: Shown;
  value: Shown;
  headers: { key: string; value: Shown }[];
}

export function showRecord(r: ConsumerRecord): ShownRecord {
  return {
    partition: r.partition,
    offset: r.offset,
    timestamp: r.timestamp,
    key: showBytes(r.key),
    value: showBytes(r.value),
    headers: r.headers.map((h) => ({ key: h.key, value: showBytes(h.value) })),
  };
}

/** Whether a record's key, value or any header (name or value) contains `needle`. */
export function matches(r: ShownRecord, needle: string): boolean {
  if (needle === '') return true;
  return (
    r.key.text.includes(needle) ||
    r.value.text.includes(needle) ||
    r.headers.some((h) => h.key.includes(needle) || h.value.text.includes(needle))
  );
}

/** What is shown, as JSON (one object per record). */
export function toJson(records: ShownRecord[]): string {
  return JSON.stringify(
    records.map((r) => ({
      partition: r.partition,
      offset: r.offset,
      timestamp: new Date(r.timestamp).toISOString(),
      key: r.key.kind === 'null' ? null : r.key.text,
      value: r.value.kind === 'null' ? null : r.value.text,
      headers: Object.fromEntries(r.headers.map((h) => [h.key, h.value.text])),
    })),
    null,
    2,
  );
}

const csvField = (s: string) => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

/** What is shown, as CSV with a header line (headers as one JSON field). */
export function toCsv(records: ShownRecord[]): string {
  const lines = ['partition,offset,timestamp,key,value,headers'];
  for (const r of records)
    lines.push(
      [
        String(r.partition),
        String(r.offset),
        new Date(r.timestamp).toISOString(),
        r.key.text,
        r.value.text,
        JSON.stringify(Object.fromEntries(r.headers.map((h) => [h.key, h.value.text]))),
      ]
        .map(csvField)
        .join(','),
    );
  return `${lines.join('\n')}\n`;
}
