import { describe, expect, it } from 'vitest';
import { show, table, yaml } from './output.js';

describe('output formats', () => {
  it('aligns tables, with - for missing cells and a word for no rows', () => {
    expect(
      table([
        { name: 'a', n: 1, x: null },
        { name: 'bbb', n: 22, x: 'y' },
      ]),
    ).toBe('NAME  N   X\na     1   -\nbbb   22  y');
    expect(table([], '(no topics)')).toBe('(no topics)');
  });

  it('writes YAML that quotes whatever YAML would misread', () => {
    expect(
      yaml({
        name: 'events',
        n: 3,
        ok: true,
        empty: '',
        numeric: '604800000',
        word: 'yes',
        colon: 'a: b',
        list: [1, 'two'],
        rows: [{ a: 1, b: { c: null } }],
        none: [],
        obj: {},
      }),
    ).toBe(
      [
        'name: events',
        'n: 3',
        'ok: true',
        'empty: ""',
        'numeric: "604800000"',
        'word: "yes"',
        'colon: "a: b"',
        'list:',
        '  - 1',
        '  - two',
        'rows:',
        '  - a: 1',
        '    b:',
        '      c: null',
        'none: []',
        'obj: {}',
      ].join('\n'),
    );
  });

  it('shows bytes as text, or base64 when they are not printable UTF-8', () => {
    expect(show(Buffer.from('héllo'))).toBe('héllo');
    expect(show(Buffer.from([0, 1, 255]))).toBe('base64:AAH/');
  });
});
