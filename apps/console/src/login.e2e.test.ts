import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type AclBindingInput, Admin, Producer } from '@strand/client';
import { makePki, type PkiFiles, writePki } from '@strand/security';
import { eventually, freePort, ProcessRegistry, tempDir } from '@strand/testkit';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_MAIN, launchChromium, mainOf, SHOTS } from './browser.test-util.js';

// The console beside a cluster that requires authentication (TLS, SCRAM users, ACLs), served
// over HTTPS itself, driven in headless Chromium: every user logs in and sees what their
// ACLs let them.

const registry = new ProcessRegistry();
const dir = tempDir('strand-console-login-');
let browser: Browser;
let consoleUrl = '';
let brokers = '';
let files: PkiFiles;
let admin: Admin;
const PASSWORDS = { alice: 'alice-secret-1', bob: 'bob-secret-2' };

const allow = (principal: string, operation: string, name: string): AclBindingInput => ({
  principal,
  operation: operation as AclBindingInput['operation'],
  permission: 'allow',
  resourceType: 'topic',
  name,
  patternType: name.endsWith('.') ? 'prefixed' : 'literal',
});

beforeAll(async () => {
  browser = await launchChromium();
  files = writePki(join(dir.path, 'pki'), await makePki(['node-1', 'admin']));
  const tokenFile = join(dir.path, 'metrics.token');
  writeFileSync(tokenFile, 'a-metrics-token-for-the-test\n', { mode: 0o600 });
  const secured = [
    ...['--tls-cert', files.cert('node-1'), '--tls-key', files.key('node-1')],
    ...['--tls-ca', files.ca, '--authentication', 'required'],
    ...['--super-users', 'User:node-1,User:admin', '--metrics-token-file', tokenFile],
    ...['--admin-listen', '127.0.0.1:0'],
  ];
  const coordinator = `127.0.0.1:${await freePort()}`;
  brokers = `127.0.0.1:${await freePort()}`;
  await registry.start(mainOf('@strand/coordinator/main'), {
    name: 'coordinator',
    args: ['--id', '1', '--listen', coordinator, '--data', join(dir.path, 'c'), ...secured],
    readyLine: /listening on/,
  });
  await registry.start(mainOf('@strand/broker/main'), {
    name: 'broker',
    args: [
      ...['--id', '1', '--listen', brokers, '--coordinators', coordinator],
      ...['--data', join(dir.path, 'b'), ...secured],
    ],
    readyLine: /broker \d+ listening on/,
  });
  const read = (p: string) => readFileSync(p);
  admin = new Admin({
    bootstrap: [brokers],
    tls: { ca: read(files.ca), cert: read(files.cert('admin')), key: read(files.key('admin')) },
  });
  for (const [user, password] of Object.entries(PASSWORDS)) await admin.createUser(user, password);
  for (const name of ['alice.orders', 'bob.logs', 'shared'])
    await admin.createTopic({ name, partitions: 1, replicationFactor: 1 });
  await admin.createAcls([
    allow('User:alice', 'all', 'alice.'),
    allow('User:alice', 'describe', 'shared'),
    allow('User:bob', 'describe', 'bob.'),
  ]);
  // The console has no certificate of its own: it reaches the cluster only as a logged-in user.
  const proc = await registry.start(CONSOLE_MAIN, {
    name: 'console',
    args: [
      ...['--listen', '127.0.0.1:0', '--bootstrap', brokers, '--kv-bootstrap', coordinator],
      ...['--tls-ca', files.ca, '--metrics-token-file', tokenFile],
      ...['--https-cert', files.cert('node-1'), '--https-key', files.key('node-1')],
      ...['--metrics-interval-ms', '300'],
    ],
    readyLine: /listening on https/,
  });
  consoleUrl = /(https:\/\/[\d.:]+)/.exec(proc.readyLine ?? '')![1]!;
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await admin?.close();
  await registry.stopAll();
  dir.cleanup();
});

/** A browser of its own (its own cookies) that trusts the test CA's console certificate. */
async function visitor(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  page.on('dialog', (d) => void d.accept());
  return { context, page };
}

async function logIn(page: Page, user: string, password: string): Promise<void> {
  await page.goto(`${consoleUrl}/topics`);
  await page.waitForURL(/\/login\?next=%2Ftopics$/);
  await page.fill('#login [name=username]', user);
  await page.fill('#login [name=password]', password);
  await page.click('#login button');
}

const topicNames = (page: Page) => page.locator('#topics tbody td:first-child').allInnerTexts();

describe('the console on a cluster that requires authentication', () => {
  it('refuses a wrong password and sets no session', async () => {
    const { context, page } = await visitor();
    await logIn(page, 'alice', 'not-her-password');
    expect(await page.locator('#error').textContent()).toMatch(/Login refused/);
    expect(await context.cookies()).toEqual([]);
    await page.goto(`${consoleUrl}/topics`);
    expect(page.url()).toMatch(/\/login\?next=/);
    // Nothing else answers without a session either.
    const anonymous = await context.request.get(`${consoleUrl}/topics/shared/messages.json`);
    expect(anonymous.status()).toBe(401);
    // A login sends the browser back only to a page of the console's own.
    for (const next of [
      '//elsewhere.example/',
      '/\\elsewhere.example/',
      'https://elsewhere.example/',
    ])
      expect(
        (
          await context.request.post(`${consoleUrl}/login`, {
            form: { username: 'bob', password: PASSWORDS.bob, next },
            maxRedirects: 0,
          })
        ).headers().location,
      ).toBe('/');
    await context.close();
  });

  it('shows each user the topics their ACLs let them describe', async () => {
    const a = await visitor();
    const b = await visitor();
    await logIn(a.page, 'alice', PASSWORDS.alice);
    await a.page.waitForURL(/\/topics$/);
    await logIn(b.page, 'bob', PASSWORDS.bob);
    await b.page.waitForURL(/\/topics$/);
    expect(await topicNames(a.page)).toEqual(['alice.orders', 'shared']);
    expect(await topicNames(b.page)).toEqual(['bob.logs']);
    expect(await a.page.locator('#who').textContent()).toBe('alice');
    expect(await b.page.locator('#who').textContent()).toBe('bob');
    await a.page.screenshot({ path: join(SHOTS, 'login-topics-alice.png'), fullPage: true });
    // A topic one may not describe is refused by name too, as not authorised.
    const refused = await b.page.goto(`${consoleUrl}/topics/alice.orders`);
    expect(refused?.status()).toBe(403);
    expect(await b.page.locator('#error').textContent()).toMatch(/^Not authorised/);
    // The session cookie: no script reads it, no other site's page sends it, TLS only.
    const [cookie] = await a.context.cookies();
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', secure: true });
    await a.context.close();
    await b.context.close();
  });

  it('an unauthorised delete says so and changes nothing; a forged form is refused', async () => {
    const { context, page } = await visitor();
    await logIn(page, 'alice', PASSWORDS.alice);
    await page.waitForURL(/\/topics$/);
    await page.goto(`${consoleUrl}/topics/shared`);
    await page.click('#delete-topic button');
    await page.waitForSelector('#error');
    expect(await page.locator('#error').textContent()).toMatch(
      /^Not authorised: .*may not delete topic "shared".*Nothing was changed/,
    );
    expect((await admin.listTopics()).map((t) => t.name)).toContain('shared');
    // Her own topic she may delete: the forms carry the session's CSRF token.
    await page.goto(`${consoleUrl}/topics/alice.orders`);
    const form = page.locator('#delete-topic [name=_csrf]');
    expect(await form.getAttribute('value')).toMatch(/^[\w-]{43}$/);
    // Without the token, or from another site, a post changes nothing.
    const forged = await context.request.post(`${consoleUrl}/topics/alice.orders/delete`, {
      form: { _csrf: 'made-up' },
    });
    expect(forged.status()).toBe(403);
    const crossSite = await context.request.post(`${consoleUrl}/topics/alice.orders/delete`, {
      form: { _csrf: (await form.getAttribute('value')) ?? '' },
      headers: { origin: 'https://elsewhere.example' },
    });
    expect(crossSite.status()).toBe(403);
    expect((await admin.listTopics()).map((t) => t.name)).toContain('alice.orders');
    await context.close();
  });

  it('charts throughput from the brokers’ HTTPS /metrics with the metrics token', async () => {
    const { context, page } = await visitor();
    await logIn(page, 'alice', PASSWORDS.alice);
    await page.waitForURL(/\/topics$/);
    const producer = new Producer({
      bootstrap: [brokers],
      tls: { ca: readFileSync(files.ca) },
      sasl: { username: 'alice', password: PASSWORDS.alice },
    });
    try {
      await eventually('a produce rate on the overview', async () => {
        await producer.send({ topic: 'alice.orders', value: 'x'.repeat(10_000) });
        await page.goto(consoleUrl);
        return Number.parseFloat((await page.locator('#rate-in').textContent()) || '0') > 0;
      });
    } finally {
      await producer.close();
    }
    await context.close();
  });

  it('logout ends the session: its cookie no longer opens anything', async () => {
    const { context, page } = await visitor();
    await logIn(page, 'bob', PASSWORDS.bob);
    await page.waitForURL(/\/topics$/);
    const [cookie] = await context.cookies();
    await page.click('#logout button');
    await page.waitForURL(/\/login$/);
    expect(await context.cookies()).toEqual([]);
    await page.goto(`${consoleUrl}/topics`);
    expect(page.url()).toMatch(/\/login\?next=/);
    // The old cookie, replayed, is a session that has ended.
    const replayed = await visitor();
    await replayed.context.addCookies([cookie!]);
    await replayed.page.goto(`${consoleUrl}/topics`);
    expect(replayed.page.url()).toMatch(/\/login\?next=/);
    await replayed.context.close();
    await context.close();
  });
});
