import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, formatRecord, parseRecord, REDACTED, throttle } from './logger.js';

function capture(isTTY = false) {
  const lines: string[] = [];
  const stream = Object.assign(
    new Writable({
      write(chunk, _enc, done) {
        lines.push(...String(chunk).split('\n').filter(Boolean));
        done();
      },
    }),
    { isTTY },
  );
  return { lines, stream };
}

describe('logs', () => {
  it('are JSON lines with the app, node, level and fields; secrets censored', () => {
    const { lines, stream } = capture();
    const log = createLogger({ app: 'broker', node: 2, stream, format: 'json' });
    log.info({ topic: 'orders', partition: 3, epoch: 7 }, 'leading partition');
    log.warn(
      { broker: 4, token: 'abc', request: { broker_token: 'def', password: 'p' } },
      'refused',
    );
    log.debug('not shown at info');
    expect(lines).toHaveLength(2);
    const first = parseRecord(lines[0]!)!;
    expect(first).toMatchObject({
      app: 'broker',
      node: 2,
      level: 30,
      msg: 'leading partition',
      topic: 'orders',
      partition: 3,
      epoch: 7,
    });
    expect(typeof first.time).toBe('number');
    expect(lines[1]).not.toMatch(/abc|def|"p"/);
    expect(parseRecord(lines[1]!)).toMatchObject({
      token: REDACTED,
      request: { broker_token: REDACTED, password: REDACTED },
    });
  });

  it('are readable lines on a terminal (or when asked), the same fields after the message', () => {
    const { lines, stream } = capture(true);
    const log = createLogger({ app: 'coordinator', node: 1, stream, level: 'debug' });
    log.debug({ term: 4, leader: 2, peers: [1, 2, 3], why: 'a b' }, 'leader changed');
    expect(lines).toHaveLength(1);
    // Colours on a terminal: strip them to read the text.
    const text = lines[0]!.replace(new RegExp(`${String.fromCharCode(27)}\\[\\d+m`, 'g'), '');
    expect(text).toMatch(
      /^\d\d:\d\d:\d\d\.\d{3} DEBUG coordinator 1 leader changed term=4 leader=2 peers=\[1,2,3\] why="a b"$/,
    );
  });

  it('formats a record for matching without its header, and parses only log lines', () => {
    expect(formatRecord({ level: 30, time: 1, app: 'broker', msg: 'x y', a: 1 })).toBe('x y a=1');
    expect(parseRecord('plain text')).toBeUndefined();
    expect(parseRecord('{"not":"a log"}')).toBeUndefined();
    expect(parseRecord('{broken')).toBeUndefined();
  });

  it('show an error as its code and message on a readable line', () => {
    const err = {
      type: 'NotLeaderError',
      code: 'NOT_LEADER',
      message: 'broker 2 leads',
      stack: 'x',
    };
    expect(formatRecord({ msg: 'refused', err })).toBe('refused err="NOT_LEADER: broker 2 leads"');
    expect(formatRecord({ msg: 'failed', err: { message: 'EIO' } })).toBe('failed err=EIO');
  });

  it('let a flood of one kind of event through once per period, counting what they left out', async () => {
    const due = throttle(50);
    expect(due('a')).toBe(0);
    expect(due('a')).toBeUndefined();
    expect(due('a')).toBeUndefined();
    expect(due('b')).toBe(0);
    await new Promise((r) => setTimeout(r, 80));
    expect(due('a')).toBe(2);
    expect(due('a')).toBeUndefined();
  });
});
