import { afterEach, describe, expect, it } from 'vitest';
import { type AdminServer, startAdminServer } from './admin-server.js';
import { Metrics } from './metrics.js';

describe('the admin HTTP server', () => {
  let server: AdminServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('serves /metrics, /healthz and /readyz (200 ready, 503 not) and nothing else', async () => {
    const metrics = new Metrics({ defaults: false });
    metrics.gauge('test_value', 'a value').set(7);
    let ready = false;
    const scrapes: number[] = [];
    server = await startAdminServer({
      listen: '127.0.0.1:0',
      metrics,
      about: { app: 'test', id: 3 },
      ready: () => ({ ready, checks: { thing: { ok: ready, detail: ready ? 'up' : 'down' } } }),
      onScrape: (s) => scrapes.push(s),
    });
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);

    const m = await fetch(`${server.url}/metrics`);
    expect(m.status).toBe(200);
    expect(m.headers.get('content-type')).toMatch(/^text\/plain; version=0.0.4/);
    expect(await m.text()).toContain('strand_test_value 7');
    expect(scrapes).toHaveLength(1);

    const h = await fetch(`${server.url}/healthz`);
    expect(h.status).toBe(200);
    expect(await h.json()).toMatchObject({ status: 'alive', app: 'test', id: 3 });

    let r = await fetch(`${server.url}/readyz`);
    expect(r.status).toBe(503);
    expect(await r.json()).toMatchObject({
      ready: false,
      app: 'test',
      checks: { thing: { ok: false, detail: 'down' } },
    });
    ready = true;
    r = await fetch(`${server.url}/readyz?verbose=1`);
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ ready: true });

    const nf = await fetch(`${server.url}/other`);
    expect(nf.status).toBe(404);
    expect(((await nf.json()) as { error: string }).error).toMatch(/\/metrics/);
    const post = await fetch(`${server.url}/metrics`, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
  });

  it('answers 500 with the reason when a readiness check throws, and keeps serving', async () => {
    server = await startAdminServer({
      listen: '127.0.0.1:0',
      metrics: new Metrics({ defaults: false }),
      about: { app: 'test' },
      ready: () => {
        throw new Error('state unavailable');
      },
    });
    const r = await fetch(`${server.url}/readyz`);
    expect(r.status).toBe(500);
    expect(await r.json()).toMatchObject({ error: 'state unavailable' });
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });
});
