import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type FrameAnswer, KafkaConnection } from './connection.js';

// The connection's own rules, over real loopback sockets: answers in request order, and
// back-pressure (a client that does not read its answers stops being read from).

const servers: net.Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

/** A listener whose connections answer each request after `delayMs(i)` with `answerBytes`. */
async function serve(
  answerBytes: number,
  delayMs: (i: number) => number,
  limits = { maxInflightBytes: 1024 * 1024, maxInflightRequests: 1000 },
): Promise<{ port: number; handled: () => number; sent: () => number }> {
  let handled = 0;
  let sent = 0;
  const server = net.createServer((socket) => {
    new KafkaConnection(
      socket,
      { maxRequestBytes: 1024, idleMs: 60_000, ...limits },
      async (frame): Promise<FrameAnswer> => {
        const i = handled++;
        await new Promise((r) => setTimeout(r, delayMs(i)));
        const out = Buffer.alloc(4 + answerBytes);
        out.writeInt32BE(answerBytes, 0);
        frame.copy(out, 4, 0, 4); // the request's first 4 bytes: its number
        return { chunks: [out], sent: () => void sent++ };
      },
      () => undefined,
    );
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    handled: () => handled,
    sent: () => sent,
  };
}

const request = (i: number) => {
  const b = Buffer.alloc(12);
  b.writeInt32BE(8, 0);
  b.writeInt32BE(i, 4);
  return b;
};

async function settle(value: () => number): Promise<number> {
  let v = -1;
  for (let previous = -2; v !== previous; ) {
    await new Promise((r) => setTimeout(r, 200));
    previous = v;
    v = value();
  }
  return v;
}

describe('KafkaConnection', () => {
  it('answers in request order whatever order the answers are ready in', async () => {
    const s = await serve(4, (i) => (i % 3 === 0 ? 30 : 0));
    const c = net.connect(s.port, '127.0.0.1');
    const got: number[] = [];
    let buf = Buffer.alloc(0);
    const done = new Promise<void>((resolve) =>
      c.on('data', (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        while (buf.length >= 8) {
          got.push(buf.readInt32BE(4));
          buf = buf.subarray(8);
        }
        if (got.length === 30) resolve();
      }),
    );
    for (let i = 0; i < 30; i++) c.write(request(i));
    await done;
    c.destroy();
    expect(got).toEqual(Array.from({ length: 30 }, (_, i) => i));
  });

  it('stops reading requests while a client leaves its answers unread, and goes on when it reads', async () => {
    const answer = 256 * 1024;
    const s = await serve(answer, () => 0);
    const c = net.connect(s.port, '127.0.0.1');
    c.pause();
    await new Promise<void>((r) => c.once('connect', () => r()));
    const total = 2000; // 500 MiB of answers, were they all made
    for (let i = 0; i < total; i++) c.write(request(i));
    const stalled = await settle(s.handled);
    // Answers are made as requests are read; reading stops at 1,000 unanswered requests
    // (those in one TCP read included), so far fewer than all 2,000 are handled.
    expect(stalled).toBeLessThan(1100);
    expect(stalled).toBeGreaterThan(0);
    let received = 0;
    const all = new Promise<void>((resolve) =>
      c.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received === total * (4 + answer)) resolve();
      }),
    );
    c.resume();
    await all;
    expect(s.handled()).toBe(total);
    expect(await settle(s.sent)).toBe(total);
    c.destroy();
  }, 60_000);

  it("runs every answer's release when the client goes away, written or not", async () => {
    const s = await serve(256 * 1024, () => 0);
    const c = net.connect(s.port, '127.0.0.1');
    c.pause();
    await new Promise<void>((r) => c.once('connect', () => r()));
    for (let i = 0; i < 200; i++) c.write(request(i));
    const handled = await settle(s.handled);
    expect(s.sent()).toBeLessThan(handled); // some wait behind the unread ones
    c.destroy();
    expect(await settle(s.sent)).toBe(handled);
  });

  it('an answer that ends the connection is written, and none after it', async () => {
    let handled = 0;
    let limit = 1024;
    const server = net.createServer((socket) => {
      new KafkaConnection(
        socket,
        {
          maxRequestBytes: () => limit,
          idleMs: 60_000,
          maxInflightBytes: 1 << 20,
          maxInflightRequests: 100,
        },
        async (frame): Promise<FrameAnswer> => {
          handled++;
          const out = Buffer.alloc(8);
          out.writeInt32BE(4, 0);
          frame.copy(out, 4, 0, 4);
          return { chunks: [out], thenClose: frame.readInt32BE(0) === 1 };
        },
        () => undefined,
      );
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const exchange = async (bytes: Buffer) => {
      const c = net.connect(port, '127.0.0.1');
      let got = Buffer.alloc(0);
      c.on('data', (chunk: Buffer) => {
        got = Buffer.concat([got, chunk]);
      });
      c.write(bytes);
      await new Promise((r) => c.on('close', r));
      return got;
    };
    const got = await exchange(Buffer.concat([request(0), request(1), request(2)]));
    expect([got.readInt32BE(4), got.readInt32BE(12)]).toEqual([0, 1]);
    expect(got).toHaveLength(16);
    const before = handled;
    // The size limit is asked at each request: a lower one refuses before anything is read.
    limit = 4;
    expect(await exchange(request(5))).toHaveLength(0);
    expect(handled).toBe(before);
  });
});
