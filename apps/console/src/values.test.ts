import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { esc, html } from './html.js';
import { matches, showBytes, toCsv } from './values.js';

describe('how bytes show', () => {
  it('as JSON pretty-printed, as text, as hex for binary, and null as null', () => {
    expect(showBytes(Buffer.from('{"a":[1,2]}'))).toEqual({
      kind: 'json',
      text: '{\n  "a": [\n    1,\n    2\n  ]\n}',
    });
    expect(showBytes(Buffer.from('{not json}'))).toEqual({ kind: 'text', text: '{not json}' });
    expect(showBytes(Buffer.from('héllo\nworld'))).toEqual({ kind: 'text', text: 'héllo\nworld' });
    expect(showBytes(Buffer.from([0, 1, 0xff]))).toEqual({ kind: 'hex', text: '00 01 ff' });
    expect(showBytes(Buffer.from([0xc3]))).toMatchObject({ kind: 'hex' }); // not UTF-8
    expect(showBytes(null)).toEqual({ kind: 'null', text: '' });
  });

  it('never throws on any bytes, and what is shown as text is the bytes themselves', () => {
    for (let i = 0; i < 2000; i++) {
      const b = randomBytes(i % 64);
      const s = showBytes(b);
      if (s.kind === 'text') expect(Buffer.from(s.text)).toEqual(b);
      if (s.kind === 'hex') expect(Buffer.from(s.text.replace(/ /g, ''), 'hex')).toEqual(b);
    }
  });

  it('filters on key, value and headers; CSV quotes what needs it', () => {
    const r = {
      partition: 0,
      offset: 1,
      timestamp: 0,
      key: showBytes(Buffer.from('k')),
      value: showBytes(Buffer.from('a,"b"')),
      headers: [{ key: 'trace', value: showBytes(Buffer.from('x1')) }],
    };
    expect([matches(r, 'trace'), matches(r, 'x1'), matches(r, '"b'), matches(r, 'zz')]).toEqual([
      true,
      true,
      true,
      false,
    ]);
    expect(toCsv([r]).split('\n')[1]).toBe(
      '0,1,1970-01-01T00:00:00.000Z,k,"a,""b""","{""trace"":""x1""}"',
    );
  });

  it('escapes whatever a cluster or a user gave, once', () => {
    const name = '<script>alert("x")</script>&';
    expect(html`<td>${name}</td>`.text).toBe(`<td>${esc(name)}</td>`);
    expect(html`<td>${html`<b>${name}</b>`}</td>`.text).not.toContain('<script>');
  });
});
