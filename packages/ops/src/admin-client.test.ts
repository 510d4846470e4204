import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { adminGet } from './admin-client.js';

describe('adminGet', () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((done) => server?.close(done) ?? done(undefined));
    server = undefined;
  });

  const serve = async (handle: Parameters<typeof createServer>[1]) => {
    server = createServer(handle);
    await new Promise<void>((done) => server!.listen(0, '127.0.0.1', done));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };

  it('sends the token as a bearer and answers any status with its body', async () => {
    const url = await serve((req, res) => {
      res.writeHead(req.headers.authorization === 'Bearer t0ken' ? 200 : 401).end(req.url);
    });
    expect(await adminGet(url, '/metrics', { token: 't0ken' })).toEqual({
      status: 200,
      text: '/metrics',
    });
    expect(await adminGet(url, '/metrics')).toEqual({ status: 401, text: '/metrics' });
  });

  it('fails when the node does not answer in time', async () => {
    const url = await serve(() => undefined);
    await expect(adminGet(url, '/readyz', { timeoutMs: 200 })).rejects.toThrow(/within 200 ms/);
  });
});
