import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type AdminServer, metricsToken, startAdminServer } from './admin-server.js';
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

  it('asks for the bearer token on /metrics only, when it has one', async () => {
    const metrics = new Metrics({ defaults: false });
    metrics.gauge('test_value', 'a value').set(1);
    const token = 'a-token-of-some-length';
    server = await startAdminServer({
      listen: '127.0.0.1:0',
      metrics,
      about: { app: 'test' },
      ready: () => ({ ready: true, checks: {} }),
      metricsToken: token,
    });
    const scrape = (authorization?: string) =>
      fetch(`${server!.url}/metrics`, authorization ? { headers: { authorization } } : {});
    for (const wrong of [undefined, 'Bearer nope', `Basic ${token}`, `Bearer ${token}x`]) {
      const r = await scrape(wrong);
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(await r.text()).not.toContain('strand_test_value');
    }
    const ok = await scrape(`Bearer ${token}`);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('strand_test_value 1');
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    await server.close();

    // No token where one is needed: /metrics is closed to everyone, and says why.
    server = await startAdminServer({
      listen: '127.0.0.1:0',
      metrics,
      about: { app: 'test' },
      ready: () => ({ ready: true, checks: {} }),
      metricsToken: null,
    });
    const closed = await scrape(`Bearer ${token}`);
    expect(closed.status).toBe(401);
    expect(await closed.text()).toMatch(/--metrics-token-file/);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
  });
});

describe('the metrics token', () => {
  const dir = mkdtempSync(join(tmpdir(), 'strand-ops-'));
  const file = (text: string) => {
    const p = join(dir, `t${Math.random()}`);
    writeFileSync(p, text);
    return p;
  };
  const code = (f: () => unknown) => {
    try {
      f();
      return 'none';
    } catch (err) {
      return (err as { code: string }).code;
    }
  };

  it('is needed only where authentication is required and the admin port is on', () => {
    expect(metricsToken({ authenticationRequired: false, adminListen: '127.0.0.1:0' })).toBe(
      undefined,
    );
    expect(metricsToken({ authenticationRequired: true })).toBe(undefined);
    expect(metricsToken({ authenticationRequired: true, adminListen: ':0' })).toBe(null);
    const on = { authenticationRequired: true, adminListen: '127.0.0.1:0' };
    expect(metricsToken({ ...on, metricsTokenFile: file('0123456789abcdef\nignored\n') })).toBe(
      '0123456789abcdef',
    );
    expect(code(() => metricsToken({ ...on, metricsTokenFile: file('short\n') }))).toBe(
      'INVALID_CONFIG',
    );
    expect(code(() => metricsToken({ ...on, metricsTokenFile: join(dir, 'missing') }))).toBe(
      'INVALID_CONFIG',
    );
    rmSync(dir, { recursive: true, force: true });
  });
});
