import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import {
  AuthenticationFailedError,
  AuthorizationFailedError,
  type ResetSpec,
} from '@strand/client';
import type { AdminAccess, Logger } from '@strand/ops';
import { InvalidRequestError, StrandError } from '@strand/wire';
import { BrowseQuery, browse } from './browse.js';
import { type Cluster, type ClusterAddress, connect } from './clients.js';
import { esc, html, page, WHO_SLOT } from './html.js';
import {
  groupList,
  groupPage,
  kvPage,
  kvRow,
  kvValue,
  loginPage,
  messagesPage,
  overview,
  recordsTable,
  topicList,
  topicPage,
} from './pages.js';
import {
  cookieOf,
  SESSION_COOKIE,
  type Session,
  Sessions,
  sameSecret,
  sessionCookie,
} from './sessions.js';
import { Throughput } from './throughput.js';
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
type Handler = (
  c: Cluster,
  m: string[],
  q: Query,
  form: Query,
  throughput: Throughput,
) => Promise<Answer>;

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
  ['GET', /^\/$/, async (c, _m, _q, _f, t) => htmlAnswer(await overview(c, t.chart()))],
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
      const { records } = await browse(c, dec(m[1]!), browseQuery(q));
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
function tail(
  c: Cluster,
  topic: string,
  req: IncomingMessage,
  res: ServerResponse,
  log: Logger,
  ended?: AbortSignal,
) {
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-store',
    connection: 'keep-alive',
  });
  res.write(': tailing\n\n');
  const consumer = c.consumer({ maxWaitMs: 500 });
  let open = true;
  req.on('close', () => {
    open = false;
  });
  void (async () => {
    try {
      await consumer.assignTopic(topic, 'end');
      while (open && !ended?.aborted) {
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
function watchKv(
  c: Cluster,
  q: Query,
  req: IncomingMessage,
  res: ServerResponse,
  log: Logger,
  ended?: AbortSignal,
) {
  const prefix = q.get('prefix') ?? '';
  const shownKey = q.get('key') || undefined;
  let from: number;
  try {
    from = int(q.get('from'), 'from') ?? 0;
  } catch (err) {
    return send(res, errorPage(err));
  }
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-store',
    connection: 'keep-alive',
  });
  res.write(': watching\n\n');
  const stop = new AbortController();
  req.on('close', () => stop.abort());
  const signal = ended ? AbortSignal.any([stop.signal, ended]) : stop.signal;
  void (async () => {
    try {
      for await (const events of c.kv.watch(prefix, {
        prefix: true,
        fromRevision: from + 1,
        signal,
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
      if (!signal.aborted) log.warn({ prefix, err }, 'KV live watch ended');
    } finally {
      res.end();
    }
  })();
}

function errorPage(err: unknown): Answer {
  const invalid =
    err instanceof InvalidRequestError || (err as { name?: string }).name === 'ZodError';
  if (err instanceof AuthorizationFailedError)
    return {
      status: 403,
      body: page(
        'Not authorised',
        html`<p class="error" id="error">Not authorised: ${err.message} (${err.code}). Nothing was changed.</p><p><a href="javascript:history.back()">Back</a></p>`,
      ).text,
    };
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

function send(res: ServerResponse, a: Answer, headers: Record<string, string> = {}): void {
  if (a.redirect) {
    res.writeHead(303, { ...headers, location: a.redirect }).end();
    return;
  }
  res
    .writeHead(a.status ?? 200, {
      ...headers,
      'content-type': a.type ?? 'text/html; charset=utf-8',
      'cache-control': 'no-store',
    })
    .end(a.body ?? '');
}

/** A page's every form that posts carries the session's CSRF token; the bar says who is in. */
function personalise(body: string, s: Session): string {
  const who = html`signed in as <b id="who">${s.user}</b><form method="post" action="/logout" id="logout" class="inline"><button>Log out</button></form>`;
  const token = `<input type="hidden" name="_csrf" value="${esc(s.csrf)}">`;
  return body
    .replace(WHO_SLOT, who.text)
    .replace(/<form method="post"[^>]*>/g, (tag) => `${tag}${token}`);
}

/**
 * A path on this console to go back to after logging in: nothing that leaves it (`//host`
 * and `/\\host` are other sites to a browser).
 */
const localPath = (p: string | null) => (p && /^\/(?![/\\])/.test(p) ? p : '/');

export interface ConsoleOptions {
  /** The cluster, as the console itself reaches it (anonymously, or with its own certificate). */
  cluster: ClusterAddress;
  listen: { host: string; port: number };
  /** HTTPS for the console's pages: its certificate and key (PEM). */
  https?: { cert: Buffer; key: Buffer };
  /** A logged-in user's session ends after this long unused. */
  sessionIdleMs: number;
  /** How often the brokers' metrics are read for the chart, and how. */
  metricsIntervalMs: number;
  metricsAccess?: AdminAccess;
}

export interface ConsoleServer {
  server: Server;
  url: string;
  close(): Promise<void>;
}

type Mode = 'open' | 'login';

/**
 * The console's HTTP(S) server: pages rendered on the server from the SDK's answers. On a
 * cluster that requires authentication (an anonymous request is refused) every page needs a
 * login, and runs on that user's own clients, with their ACLs.
 */
export async function startConsole(opts: ConsoleOptions, log: Logger): Promise<ConsoleServer> {
  const own = connect(opts.cluster);
  const sessions = new Sessions((sasl) => connect(opts.cluster, sasl), opts.sessionIdleMs);
  // DescribeCluster, for the brokers' admin URLs: anyone authenticated may ask.
  const throughput = new Throughput(
    () => [...sessions.clusters(), own].map((c) => c.admin),
    opts.metricsIntervalMs,
    opts.metricsAccess,
  );
  let mode: Promise<Mode> | undefined;
  /** Open or login: asked of the cluster once (again after a failure that says neither). */
  const modeOf = (): Promise<Mode> => {
    mode ??= own.admin.listTopics().then(
      (): Mode => 'open',
      (err: unknown): Mode => {
        if (err instanceof AuthenticationFailedError) return 'login';
        mode = undefined;
        throw err;
      },
    );
    return mode;
  };
  const secure = opts.https !== undefined;
  const origin = (req: IncomingMessage) => `${secure ? 'https' : 'http'}://${req.headers.host}`;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://console');
    const path = url.pathname;
    // Another site's page may not post here (with SameSite=Strict and the token, a third wall).
    if (req.method === 'POST') {
      const from = req.headers.origin;
      if ((from && from !== origin(req)) || req.headers['sec-fetch-site'] === 'cross-site')
        return send(res, {
          status: 403,
          body: page(
            'Refused',
            html`<p class="error" id="error">A request from another site (${from ?? 'unknown'}) is refused.</p>`,
          ).text,
        });
    }
    const loginMode = (await modeOf()) === 'login';
    const session = loginMode
      ? sessions.get(cookieOf(req.headers.cookie, SESSION_COOKIE))
      : undefined;
    if (path === '/login') {
      if (!loginMode || (session && req.method === 'GET')) return send(res, { redirect: '/' });
      if (req.method === 'GET')
        return send(res, { body: loginPage(localPath(url.searchParams.get('next'))).text });
      if (req.method !== 'POST') return send(res, { status: 405, body: 'GET or POST' });
      const form = await readForm(req);
      const next = localPath(form.get('next'));
      const mechanism =
        form.get('mechanism') === 'SCRAM-SHA-256' ? 'SCRAM-SHA-256' : 'SCRAM-SHA-512';
      try {
        const s = await sessions.login({
          username: form.get('username') ?? '',
          password: form.get('password') ?? '',
          mechanism,
        });
        log.info({ user: s.user, mechanism, remote: req.socket.remoteAddress }, 'console login');
        if (session) sessions.end(session.id);
        return send(res, { redirect: next }, { 'set-cookie': sessionCookie(s.id, secure) });
      } catch (err) {
        const refused = err instanceof AuthenticationFailedError;
        log.warn(
          {
            user: form.get('username'),
            mechanism,
            remote: req.socket.remoteAddress,
            reason: (err as Error).message,
          },
          'console login refused',
        );
        return send(res, {
          status: refused ? 401 : 400,
          body: loginPage(
            next,
            refused ? `Login refused: ${(err as Error).message}` : (err as Error).message,
          ).text,
        });
      }
    }
    if (loginMode && !session) {
      if (req.method === 'GET' && !/\/(tail|watch)$|\.(json|csv)$/.test(path))
        return send(res, { redirect: `/login?next=${enc(path + url.search)}` });
      return send(res, { status: 401, body: loginPage(localPath(path)).text });
    }
    const form = await readForm(req);
    if (session && req.method === 'POST' && !sameSecret(form.get('_csrf') ?? '', session.csrf))
      return send(res, {
        status: 403,
        body: page(
          'Refused',
          html`<p class="error" id="error">This form is stale or was not made by this console (its CSRF token does not match): reload the page and try again.</p>`,
        ).text,
      });
    if (session && path === '/logout' && req.method === 'POST') {
      sessions.end(session.id);
      log.info({ user: session.user, remote: req.socket.remoteAddress }, 'console logout');
      return send(res, { redirect: '/login' }, { 'set-cookie': sessionCookie(null, secure) });
    }
    const c = session?.cluster ?? own;
    const tailMatch = /^\/topics\/([^/]+)\/tail$/.exec(path);
    if (req.method === 'GET' && tailMatch)
      return tail(c, dec(tailMatch[1]!), req, res, log, session?.ended);
    if (req.method === 'GET' && path === '/kv/watch')
      return watchKv(c, url.searchParams, req, res, log, session?.ended);
    const route = ROUTES.find(([method, re]) => method === req.method && re.test(path));
    if (!route) return send(res, { status: 404, body: page('Not found', path).text });
    let answer: Answer;
    try {
      answer = await route[2](c, route[1].exec(path)!, url.searchParams, form, throughput);
    } catch (err) {
      answer = errorPage(err);
      if (session && err instanceof AuthenticationFailedError) {
        // The cluster no longer takes this user (deleted, password changed): log in again.
        sessions.end(session.id);
        return send(
          res,
          { redirect: `/login?next=${enc(path)}` },
          { 'set-cookie': sessionCookie(null, secure) },
        );
      }
      if ((answer.status ?? 500) >= 500) log.error({ err, path }, 'console page failed');
    }
    if (session && answer.body && (answer.type ?? 'text/html').startsWith('text/html'))
      answer = { ...answer, body: personalise(answer.body, session) };
    send(res, answer);
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent) return res.destroy();
      const a = errorPage(err);
      if ((a.status ?? 500) >= 500) log.error({ err, path: req.url }, 'console request failed');
      send(res, a);
    });
  };
  const server = opts.https ? createHttpsServer(opts.https, onRequest) : createServer(onRequest);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.listen.port, opts.listen.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `${secure ? 'https' : 'http'}://${opts.listen.host}:${port}`,
    close: async () => {
      throughput.close();
      sessions.close();
      server.closeAllConnections();
      server.close();
      await own.close();
    },
  };
}
