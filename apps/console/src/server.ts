import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Consumer, type ResetSpec } from '@strand/client';
import type { Logger } from '@strand/ops';
import { InvalidRequestError, StrandError } from '@strand/wire';
import { BrowseQuery, browse } from './browse.js';
import { html, page } from './html.js';
import {
  type Cluster,
  groupList,
  groupPage,
  kvPage,
  kvRow,
  kvValue,
  messagesPage,
  overview,
  recordsTable,
  topicList,
  topicPage,
} from './pages.js';
import { showRecord, toCsv, toJson } from './values.js';

/** A form body is small: anything larger is refused before it is read. */
const MAX_FORM_BYTES = 1024 * 1024;

type Query = URLSearchParams;
interface Answer {
  status?: number;
  type?: string;
  body?: string;
  redirect?: string;
}
type Handler = (c: Cluster, m: string[], q: Query, form: Query) => Promise<Answer>;

const htmlAnswer = (h: { text: string }): Answer => ({ body: h.text });
const dec = decodeURIComponent;
const enc = encodeURIComponent;

/** `a=1, b=2` as a record (configs, headers). */
function pairs(s: string | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (s ?? '').split(',')) {
    if (part.trim() === '') continue;
    const i = part.indexOf('=');
    if (i <= 0) throw new InvalidRequestError(`"${part.trim()}" is not name=value`);
    out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
  }
  return out;
}

function int(s: string | null, what: string): number | undefined {
  if (s === null || s.trim() === '') return undefined;
  const n = Number(s);
  if (!Number.isSafeInteger(n) || n < 0)
    throw new InvalidRequestError(`${what} must be a whole number, got "${s}"`);
  return n;
}

const browseQuery = (q: Query) => BrowseQuery.parse(Object.fromEntries(q));

function resetSpec(form: Query): ResetSpec {
  const to = form.get('to');
  if (to === 'earliest' || to === 'latest') return to;
  if (to === 'offset') return { offset: int(form.get('offset'), 'offset') ?? 0 };
  if (to === 'timestamp') {
    const t = Date.parse(form.get('timestamp') ?? '');
    if (!Number.isFinite(t)) throw new InvalidRequestError('a timestamp to reset to is needed');
    return { timestamp: t };
  }
  throw new InvalidRequestError(`cannot reset to "${to}"`);
}

/** Every page and action: method, path pattern, handler (one table, read by one function). */
const ROUTES: [string, RegExp, Handler][] = [
  ['GET', /^\/$/, async (c) => htmlAnswer(await overview(c))],
  ['GET', /^\/topics$/, async (c) => htmlAnswer(await topicList(c))],
  [
    'POST',
    /^\/topics$/,
    async (c, _m, _q, f) => {
      const name = f.get('name') ?? '';
      await c.admin.createTopic({
        name,
        partitions: int(f.get('partitions'), 'partitions') ?? 1,
        replicationFactor: int(f.get('replicationFactor'), 'replication factor') ?? 1,
        configs: pairs(f.get('configs')),
      });
      return { redirect: `/topics/${enc(name)}` };
    },
  ],
  ['GET', /^\/topics\/([^/]+)$/, async (c, m) => htmlAnswer(await topicPage(c, dec(m[1]!)))],
  [
    'POST',
    /^\/topics\/([^/]+)\/delete$/,
    async (c, m) => {
      await c.admin.deleteTopic(dec(m[1]!));
      return { redirect: '/topics' };
    },
  ],
  [
    'POST',
    /^\/topics\/([^/]+)\/configs$/,
    async (c, m, _q, f) => {
      const partitions = int(f.get('partitions'), 'partitions');
      await c.admin.alterTopic(dec(m[1]!), {
        set: pairs(f.get('configs')),
        ...(partitions ? { partitions } : {}),
      });
      return { redirect: `/topics/${m[1]}` };
    },
  ],
  [
    'POST',
    /^\/topics\/([^/]+)\/produce$/,
    async (c, m, _q, f) => {
      const topic = dec(m[1]!);
      const key = f.get('key') ?? '';
      const partition = int(f.get('partition'), 'partition');
      const md = await c.producer().send({
        topic,
        key: key === '' ? null : key,
        value: f.get('value') ?? '',
        headers: pairs(f.get('headers')),
        ...(partition !== undefined ? { partition } : {}),
      });
      return {
        redirect: `/topics/${m[1]}/messages?partition=${md.partition}&from=offset&offset=${md.offset}`,
      };
    },
  ],
  [
    'GET',
    /^\/topics\/([^/]+)\/messages$/,
    async (c, m, q) =>
      htmlAnswer(
        await messagesPage(c, dec(m[1]!), browseQuery(q), q.toString(), q.get('tail') === '1'),
      ),
  ],
  [
    'GET',
    /^\/topics\/([^/]+)\/messages\.(json|csv)$/,
    async (c, m, q) => {
      const { records } = await browse(c.admin, c.bootstrap, dec(m[1]!), browseQuery(q));
      return m[2] === 'json'
        ? { type: 'application/json', body: toJson(records) }
        : { type: 'text/csv; charset=utf-8', body: toCsv(records) };
    },
  ],
  ['GET', /^\/groups$/, async (c) => htmlAnswer(await groupList(c))],
  ['GET', /^\/groups\/([^/]+)$/, async (c, m) => htmlAnswer(await groupPage(c, dec(m[1]!)))],
  [
    'POST',
    /^\/groups\/([^/]+)\/reset$/,
    async (c, m, _q, f) => {
      const topic = f.get('topic')?.trim();
      await c.admin.resetGroupOffsets(dec(m[1]!), resetSpec(f), topic ? { topic } : {});
      return { redirect: `/groups/${m[1]}` };
    },
  ],
  [
    'POST',
    /^\/groups\/([^/]+)\/delete$/,
    async (c, m) => {
      await c.admin.deleteGroup(dec(m[1]!));
      return { redirect: '/groups' };
    },
  ],
  [
    'GET',
    /^\/kv$/,
    async (c, _m, q) =>
      htmlAnswer(await kvPage(c, q.get('prefix') ?? '', q.get('key') ?? undefined)),
  ],
];

async function readForm(req: IncomingMessage): Promise<Query> {
  if (req.method !== 'POST') return new URLSearchParams();
  let body = '';
  for await (const chunk of req) {
    body += String(chunk);
    if (body.length > MAX_FORM_BYTES) throw new InvalidRequestError('the form is too large');
  }
  return new URLSearchParams(body);
}

/** Live tail: records of every partition as they arrive, as server-sent table rows. */
function tail(c: Cluster, topic: string, req: IncomingMessage, res: ServerResponse, log: Logger) {
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-store',
    connection: 'keep-alive',
  });
  res.write(': tailing\n\n');
  const consumer = new Consumer({ bootstrap: c.bootstrap, maxWaitMs: 500 });
  let open = true;
  req.on('close', () => {
    open = false;
  });
  void (async () => {
    try {
      await consumer.assignTopic(topic, 'end');
      while (open) {
        const records = await consumer.poll(500);
        if (records.length > 0 && open) {
          const rows = recordsTable(records.map(showRecord)).text.match(/<tbody>(.*)<\/tbody>/s);
          res.write(`data: ${(rows?.[1] ?? '').replace(/\n/g, ' ')}\n\n`);
        }
      }
    } catch (err) {
      log.warn({ topic, err }, 'live tail ended');
    } finally {
      await consumer.close();
      res.end();
    }
  })();
}

/**
 * KV live watch: every change under `prefix` after revision `from`, as server-sent JSON
 * events carrying the key's new table row (and its value when it is the key shown).
 */
function watchKv(c: Cluster, q: Query, req: IncomingMessage, res: ServerResponse, log: Logger) {
  const prefix = q.get('prefix') ?? '';
  const shownKey = q.get('key') || undefined;
  let from: number;
  try {
    from = int(q.get('from'), 'from') ?? 0;
  } catch (err) {
    const a = errorPage(err);
    res.writeHead(a.status ?? 400, { 'content-type': 'text/html; charset=utf-8' }).end(a.body);
    return;
  }
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-store',
    connection: 'keep-alive',
  });
  res.write(': watching\n\n');
  const stop = new AbortController();
  req.on('close', () => stop.abort());
  void (async () => {
    try {
      for await (const events of c.kv.watch(prefix, {
        prefix: true,
        fromRevision: from + 1,
        signal: stop.signal,
      })) {
        for (const e of events) {
          const key = e.kv.key.toString();
          const event = {
            type: e.type,
            key,
            revision: e.kv.modRevision,
            ...(e.type === 'put' ? { row: kvRow(prefix, e.kv).text } : {}),
            ...(key === shownKey
              ? { value: kvValue(key, e.type === 'put' ? e.kv : null).text }
              : {}),
          };
          res.write(`data: ${JSON.stringify(event)}\n\n`);
        }
      }
    } catch (err) {
      if (!stop.signal.aborted) log.warn({ prefix, err }, 'KV live watch ended');
    } finally {
      res.end();
    }
  })();
}

function errorPage(err: unknown): Answer {
  const invalid =
    err instanceof InvalidRequestError || (err as { name?: string }).name === 'ZodError';
  const message =
    err instanceof StrandError ? `${err.code}: ${err.message}` : (err as Error).message;
  return {
    status: invalid ? 400 : err instanceof StrandError ? 409 : 500,
    body: page(
      'Error',
      html`<p class="error" id="error">${message}</p><p><a href="javascript:history.back()">Back</a></p>`,
    ).text,
  };
}

/** The console's HTTP server: pages rendered on the server from the SDK's answers. */
export async function startConsole(
  cluster: Cluster,
  listen: { host: string; port: number },
  log: Logger,
): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://console');
    const tailMatch = /^\/topics\/([^/]+)\/tail$/.exec(url.pathname);
    if (req.method === 'GET' && tailMatch) return tail(cluster, dec(tailMatch[1]!), req, res, log);
    if (req.method === 'GET' && url.pathname === '/kv/watch')
      return watchKv(cluster, url.searchParams, req, res, log);
    const route = ROUTES.find(([method, re]) => method === req.method && re.test(url.pathname));
    const answer: Promise<Answer> = route
      ? readForm(req).then((form) =>
          route[2](cluster, route[1].exec(url.pathname)!, url.searchParams, form),
        )
      : Promise.resolve({ status: 404, body: page('Not found', url.pathname).text });
    answer
      .catch((err: unknown) => {
        const a = errorPage(err);
        if ((a.status ?? 500) >= 500) log.error({ err, path: url.pathname }, 'console page failed');
        return a;
      })
      .then((a) => {
        if (a.redirect) res.writeHead(303, { location: a.redirect }).end();
        else
          res
            .writeHead(a.status ?? 200, {
              'content-type': a.type ?? 'text/html; charset=utf-8',
              'cache-control': 'no-store',
            })
            .end(a.body ?? '');
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://${listen.host}:${port}` };
}
