import { join } from 'node:path';
import { Admin, Consumer, KvClient, Producer } from '@strand/client';
import { eventually, freePort, ProcessRegistry, tempDir } from '@strand/testkit';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_MAIN, launchChromium, mainOf, SHOTS } from './browser.test-util.js';

// The console as a real process beside a real coordinator and broker, driven through its
// pages in headless Chromium (Debian's package; `.ci/run` installs it).

const registry = new ProcessRegistry();
const dir = tempDir('strand-console-');
let browser: Browser;
let page: Page;
let consoleUrl = '';
let brokers = '';
let coordinator = '';
let admin: Admin;
/** The confirmations the page asked for, and how the next one is answered. */
const dialogs: string[] = [];
let confirmNext = true;

beforeAll(async () => {
  browser = await launchChromium();
  coordinator = `127.0.0.1:${await freePort()}`;
  brokers = `127.0.0.1:${await freePort()}`;
  await registry.start(mainOf('@strand/coordinator/main'), {
    name: 'coordinator',
    args: ['--id', '1', '--listen', coordinator, '--data', join(dir.path, 'coordinator')],
    readyLine: /listening on/,
  });
  await registry.start(mainOf('@strand/broker/main'), {
    name: 'broker',
    args: ['--id', '1', '--listen', brokers, '--coordinators', coordinator].concat([
      '--data',
      join(dir.path, 'broker'),
      '--admin-listen',
      '127.0.0.1:0',
    ]),
    readyLine: /broker \d+ listening on/,
  });
  const proc = await registry.start(CONSOLE_MAIN, {
    name: 'console',
    args: ['--listen', '127.0.0.1:0', '--bootstrap', brokers, '--kv-bootstrap', coordinator].concat(
      ['--metrics-interval-ms', '300'],
    ),
    readyLine: /listening on http/,
  });
  consoleUrl = /(http:\/\/[\d.:]+)/.exec(proc.readyLine ?? '')![1]!;
  admin = new Admin({ bootstrap: [brokers] });
  page = await browser.newPage();
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void (confirmNext ? d.accept() : d.dismiss());
    confirmNext = true;
  });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await admin?.close();
  await registry.stopAll();
  dir.cleanup();
});

const shot = (name: string) =>
  page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
const cells = (selector: string) => page.locator(selector).allInnerTexts();
const text = async (selector: string) => (await page.locator(selector).textContent()) ?? '';

describe('the web console in a browser', () => {
  it('shows the broker alive and the partitions healthy on the overview', async () => {
    await page.goto(consoleUrl);
    expect((await cells('#brokers tbody tr:first-child td')).slice(0, 3)).toEqual([
      '1',
      brokers,
      'alive',
    ]);
    expect(await text('#partition-health')).toMatch(/0 under-replicated,\s+0 offline/);
    await shot('overview');
  });

  it('creates a topic, produces a message and browses it from an offset and from a timestamp', async () => {
    await page.goto(`${consoleUrl}/topics`);
    await page.fill('#create-topic [name=name]', 'web');
    await page.fill('#create-topic [name=partitions]', '2');
    await page.fill('#create-topic [name=configs]', 'retention.ms=3600000');
    await page.click('#create-topic button');
    await page.waitForURL(/\/topics\/web$/);
    expect(await page.locator('#partitions tbody tr').count()).toBe(2);
    await shot('topic');

    const producer = new Producer({ bootstrap: [brokers] });
    for (let i = 0; i < 10; i++)
      await producer.send({ topic: 'web', partition: 0, key: `k${i}`, value: `plain ${i}` });
    const before = Date.now();
    await new Promise((r) => setTimeout(r, 20));
    await producer.send({
      topic: 'web',
      partition: 0,
      value: JSON.stringify({ order: 7 }),
      headers: { source: 'test' },
    });
    await producer.send({ topic: 'web', partition: 0, value: Buffer.from([0, 1, 2, 255]) });
    await producer.close();

    // The form on the topic page produces; the browser lands on the new record.
    await page.goto(`${consoleUrl}/topics/web`);
    await page.fill('#produce [name=key]', 'from-the-form');
    await page.fill('#produce [name=value]', 'hello from the browser');
    await page.fill('#produce [name=headers]', 'who=console');
    await page.fill('#produce [name=partition]', '1');
    await page.click('#produce button');
    await page.waitForURL(/\/messages\?partition=1&from=offset&offset=0/);
    expect(await cells('#messages tbody td:nth-child(5)')).toEqual(['hello from the browser']);
    expect(await cells('#messages tbody td:nth-child(6)')).toEqual(['who=console']);

    await page.goto(`${consoleUrl}/topics/web/messages?partition=0&from=offset&offset=8&limit=3`);
    expect(await cells('#messages tbody td:nth-child(2)')).toEqual(['8', '9', '10']);
    const values = await cells('#messages tbody td:nth-child(5)');
    expect(values[2]).toBe('{\n  "order": 7\n}'); // JSON, pretty-printed
    await shot('messages');

    await page.goto(
      `${consoleUrl}/topics/web/messages?partition=0&from=timestamp&timestamp=${encodeURIComponent(new Date(before).toISOString())}`,
    );
    expect(await cells('#messages tbody td:nth-child(2)')).toEqual(['10', '11']);
    expect((await cells('#messages tbody td:nth-child(5)'))[1]).toBe('00 01 02 ff'); // hex
    await page.goto(`${consoleUrl}/topics/web/messages?filter=source`);
    expect(await cells('#messages tbody td:nth-child(2)')).toEqual(['10']);

    const exported = await (
      await fetch(`${consoleUrl}/topics/web/messages.json?partition=0&from=offset&offset=9&limit=2`)
    ).json();
    expect(exported).toMatchObject([
      { partition: 0, offset: 9, key: 'k9', value: 'plain 9' },
      { offset: 10, headers: { source: 'test' } },
    ]);
    const csv = await (await fetch(`${consoleUrl}/topics/web/messages.csv?partition=1`)).text();
    expect(csv.split('\n')[1]).toMatch(/^1,0,[^,]+,from-the-form,hello from the browser,/);
  });

  it('alters a topic\u2019s configs and adds partitions through its form', async () => {
    const configCell = async (name: string) => {
      const rows = await cells('#configs tbody tr');
      return rows.find((r) => r.startsWith(`${name}\t`))?.split('\t')[1];
    };
    await page.goto(`${consoleUrl}/topics/web`);
    // Configs alone (the partition count as it is).
    await page.fill('#alter-configs [name=configs]', 'retention.ms=7200000');
    await page.click('#alter-configs button');
    await page.waitForURL(/\/topics\/web$/);
    expect(await configCell('retention.ms')).toBe('7200000');
    expect(await page.locator('#partitions tbody tr').count()).toBe(2);
    // More partitions and another config at once.
    await page.fill('#alter-configs [name=configs]', 'segment.bytes=1048576');
    await page.fill('#alter-configs [name=partitions]', '3');
    await page.click('#alter-configs button');
    await page.waitForURL(/\/topics\/web$/);
    expect(await page.locator('#partitions tbody tr').count()).toBe(3);
    expect(await configCell('segment.bytes')).toBe('1048576');
    const t = await admin.describeTopic('web');
    expect(t.partitions).toHaveLength(3);
    expect(t.configs).toMatchObject({ 'retention.ms': '7200000', 'segment.bytes': '1048576' });
    // Fewer partitions is refused, and nothing changes.
    await page.fill('#alter-configs [name=partitions]', '1');
    await page
      .locator('#alter-configs [name=partitions]')
      .evaluate((e) => e.removeAttribute('min'));
    await page.click('#alter-configs button');
    expect(await text('#error')).toMatch(/partition/i);
    expect((await admin.describeTopic('web')).partitions).toHaveLength(3);
  });

  it('charts the cluster\u2019s throughput from the brokers\u2019 metrics', async () => {
    const producer = new Producer({ bootstrap: [brokers] });
    const rate = await eventually('a produce rate on the overview', async () => {
      await producer.send({ topic: 'web', partition: 0, value: 'x'.repeat(10_000) });
      await page.goto(consoleUrl);
      const r = Number.parseFloat((await text('#rate-in')) || '0');
      return r > 0 ? r : undefined;
    });
    await producer.close();
    expect(rate).toBeGreaterThan(0);
    expect(await page.locator('#throughput polyline').count()).toBe(2);
    await shot('overview-throughput');
  });

  it('shows a record produced meanwhile in the live tail', async () => {
    await page.goto(`${consoleUrl}/topics/web/messages?from=end&limit=1&tail=1`);
    await page.waitForSelector('#tail-state:has-text("live")');
    const before = await page.locator('#messages tbody tr').count();
    const producer = new Producer({ bootstrap: [brokers] });
    await eventually('the tail shows the new record', async () => {
      await producer.send({ topic: 'web', partition: 0, value: 'tailed' });
      return (await page.locator('#messages tbody tr').count()) > before || undefined;
    });
    await producer.close();
    expect(await cells('#messages tbody td:nth-child(5)')).toContain('tailed');
  });

  it('shows a group’s lag, resets its offsets, and deletes the topic', async () => {
    const consumer = new Consumer({
      bootstrap: [brokers],
      groupId: 'web-readers',
      autoCommit: false,
      autoOffsetReset: 'earliest',
      maxPollRecords: 4,
    });
    consumer.subscribe('web');
    let read = 0;
    while (read < 4) read += (await consumer.poll(500)).length;
    await consumer.commit();
    await consumer.close();
    const group = await admin.describeGroup('web-readers');

    await page.goto(`${consoleUrl}/groups`);
    await page.click('text=web-readers');
    expect(Number(await text('#total-lag'))).toBe(group.lag);
    expect(group.lag).toBeGreaterThan(0);
    await shot('group');
    await page.selectOption('#reset-offsets [name=to]', 'latest');
    await page.fill('#reset-offsets [name=topic]', 'web');
    await page.click('#reset-offsets button');
    await page.waitForURL(/\/groups\/web-readers$/);
    expect(await text('#total-lag')).toBe('0');
    // An empty group is deleted, once confirmed.
    await page.click('#delete-group button');
    await page.waitForURL(/\/groups$/);
    expect(dialogs.at(-1)).toBe('Delete this group?');
    expect(await cells('#groups tbody td:first-child')).not.toContain('web-readers');
    expect((await admin.listGroups()).map((g) => g.groupId)).not.toContain('web-readers');

    // A topic is deleted only once its deletion is confirmed.
    await page.goto(`${consoleUrl}/topics/web`);
    confirmNext = false;
    await page.click('#delete-topic button');
    expect(dialogs.at(-1)).toBe('Delete topic web and all its records?');
    expect(page.url()).toMatch(/\/topics\/web$/);
    expect((await admin.listTopics()).map((t) => t.name)).toContain('web');
    await page.click('#delete-topic button');
    await page.waitForURL(/\/topics$/);
    expect(await cells('#topics tbody td:first-child')).not.toContain('web');
    await eventually(
      'the topic gone',
      async () => (await admin.listTopics()).every((t) => t.name !== 'web') || undefined,
    );
  });

  it('lists keys under a prefix with their versions and revisions, and shows a value', async () => {
    const kv = new KvClient({ bootstrap: [coordinator] });
    await kv.put('app/config', '{"mode":"fast"}');
    await kv.put('app/config', '{"mode":"safe"}');
    await kv.put('app/name', 'demo');
    kv.close();
    await page.goto(`${consoleUrl}/kv?prefix=app/`);
    expect(await cells('#keys tbody td:first-child')).toEqual(['app/config', 'app/name']);
    expect(await cells('#keys tbody tr:first-child td:nth-child(2)')).toEqual(['2']); // version
    await page.click('text=app/config');
    expect(await text('pre.json')).toBe('{\n  "mode": "safe"\n}');
    await shot('kv');
  });

  it('follows a prefix live: keys put, changed and deleted elsewhere show without a reload', async () => {
    const kv = new KvClient({ bootstrap: [coordinator] });
    try {
      await kv.put('live/a', 'one');
      await page.goto(`${consoleUrl}/kv?prefix=live/&key=live/a`);
      await page.waitForSelector('#watch-state:has-text("live")');
      await page.evaluate('window.notReloaded = true');
      const row = (key: string) => page.locator(`#keys tbody tr[data-key="${key}"] td`);
      expect((await row('live/a').allInnerTexts()).slice(0, 2)).toEqual(['live/a', '1']);

      await kv.put('live/b', 'new');
      await row('live/b').first().waitFor();
      await kv.put('live/a', '{"now":2}');
      await page
        .locator('#keys tbody tr[data-key="live/a"] td:nth-child(2)')
        .filter({ hasText: /^2$/ })
        .waitFor();
      await page.locator('#value pre').filter({ hasText: '"now": 2' }).waitFor();
      await kv.delete('live/b');
      await row('live/b').first().waitFor({ state: 'detached' });
      await kv.put('elsewhere/x', 'not under the prefix');
      await kv.put('live/c', 'after');
      await row('live/c').first().waitFor();
      expect(await cells('#keys tbody td:first-child')).toEqual(['live/a', 'live/c']);
      expect(await page.evaluate('window.notReloaded')).toBe(true);
      expect(Number(await text('#revision'))).toBe((await kv.get('live/c'))!.modRevision);
      await shot('kv-watch');
    } finally {
      kv.close();
    }
    expect((await fetch(`${consoleUrl}/kv/watch?from=soon`)).status).toBe(400);
  });

  it('refuses bad input with a clear error page and changes nothing', async () => {
    const res = await fetch(`${consoleUrl}/topics`, {
      method: 'POST',
      body: new URLSearchParams({ name: 'bad name!', partitions: '1' }),
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/id="error"/);
    expect((await fetch(`${consoleUrl}/topics/nope/messages?from=sideways`)).status).toBe(400);
    expect((await admin.listTopics()).map((t) => t.name)).not.toContain('bad name!');
  });
});
