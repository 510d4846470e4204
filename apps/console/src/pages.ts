import type { GroupDescription, KeyValue, TopicDescription } from '@strand/client';
import { type BrowseQuery, browse } from './browse.js';
import type { Cluster } from './clients.js';
import { esc, Html, html, type Part, page, table } from './html.js';
import { type Shown, type ShownRecord, showBytes } from './values.js';

const enc = encodeURIComponent;
const link = (href: string, text: Part) => html`<a href="${href}">${text}</a>`;
const state = (ok: boolean, good: string, bad: string) =>
  ok ? html`<span class="ok">${good}</span>` : html`<span class="bad">${bad}</span>`;

function shown(s: Shown): Html {
  if (s.kind === 'null') return html`<em>null</em>`;
  return html`<pre class="${s.kind}">${s.text}</pre>`;
}

const underReplicated = (t: TopicDescription) =>
  t.partitions.filter((p) => p.isr.length < p.replicas.length).length;
const offline = (t: TopicDescription) => t.partitions.filter((p) => p.leader < 0).length;

export async function overview(c: Cluster, chart: Html): Promise<Html> {
  const [cluster, topics] = await Promise.all([c.admin.describeCluster(), c.admin.listTopics()]);
  const led = new Map<number, number>();
  for (const t of topics)
    for (const p of t.partitions)
      if (p.leader >= 0) led.set(p.leader, (led.get(p.leader) ?? 0) + 1);
  const under = topics.reduce((n, t) => n + underReplicated(t), 0);
  const off = topics.reduce((n, t) => n + offline(t), 0);
  return page(
    'Overview',
    html`<p>Cluster <code>${cluster.clusterId}</code>, controller ${cluster.controllerId < 0 ? 'none' : cluster.controllerId}.
      <span id="partition-health">${topics.reduce((n, t) => n + t.partitions.length, 0)} partitions:
      ${state(under === 0, '0 under-replicated', `${under} under-replicated`)},
      ${state(off === 0, '0 offline', `${off} offline`)}</span></p>
    ${chart}
    <h2>Brokers</h2>
    ${table(
      [...cluster.brokers].sort((a, b) => a.id - b.id),
      {
        id: (b) => b.id,
        address: (b) => b.address,
        state: (b) => state(!b.fenced, 'alive', 'fenced'),
        rack: (b) => b.rack || '-',
        'partitions led': (b) => led.get(b.id) ?? 0,
        admin: (b) => (b.adminUrl ? link(`${b.adminUrl}/metrics`, b.adminUrl) : '-'),
      },
      'brokers',
    )}
    <h2>Coordinators</h2>
    ${table(
      [...cluster.coordinators].sort((a, b) => a.id - b.id),
      {
        id: (x) => x.id,
        address: (x) => x.address,
        role: (x) => (x.isLeader ? 'leader (active controller)' : 'follower'),
      },
    )}`,
  );
}

export async function topicList(c: Cluster): Promise<Html> {
  const topics = (await c.admin.listTopics()).sort((a, b) => a.name.localeCompare(b.name));
  return page(
    'Topics',
    html`${table(
      topics,
      {
        name: (t) => link(`/topics/${enc(t.name)}`, t.name),
        partitions: (t) => t.partitions.length,
        'replication factor': (t) => t.replicationFactor,
        'under-replicated': (t) => underReplicated(t),
        offline: (t) => offline(t),
        'retention.ms': (t) => t.configs['retention.ms'] ?? '',
      },
      'topics',
    )}
    <h2>Create a topic</h2>
    <form method="post" action="/topics" id="create-topic">
      <label>name <input name="name" required pattern="[A-Za-z0-9._-]+"></label>
      <label>partitions <input name="partitions" type="number" min="1" value="1"></label>
      <label>replication factor <input name="replicationFactor" type="number" min="1" value="1"></label>
      <label>configs <input name="configs" placeholder="retention.ms=86400000, ..."></label>
      <button>Create</button>
    </form>`,
  );
}

export async function topicPage(c: Cluster, name: string): Promise<Html> {
  const [t, latest, earliest] = await Promise.all([
    c.admin.describeTopic(name),
    c.admin.listOffsets(name, 'latest'),
    c.admin.listOffsets(name, 'earliest'),
  ]);
  const end = new Map(latest.map((o) => [o.partition, o]));
  const start = new Map(earliest.map((o) => [o.partition, o.offset]));
  const base = `/topics/${enc(name)}`;
  return page(
    `Topic ${name}`,
    html`<p>${link(`${base}/messages`, 'Browse messages')} · id <code>${t.id}</code>, replication factor ${t.replicationFactor}</p>
    <h2>Partitions</h2>
    ${table(
      t.partitions,
      {
        partition: (p) => p.partition,
        leader: (p) => (p.leader < 0 ? html`<span class="bad">none</span>` : p.leader),
        epoch: (p) => p.leaderEpoch,
        replicas: (p) => p.replicas.join(', '),
        ISR: (p) =>
          state(p.isr.length === p.replicas.length, p.isr.join(', '), p.isr.join(', ') || 'empty'),
        'log start': (p) => start.get(p.partition) ?? '?',
        'log end (high watermark)': (p) => end.get(p.partition)?.highWatermark ?? '?',
      },
      'partitions',
    )}
    <h2>Produce a message</h2>
    <form method="post" action="${base}/produce" id="produce">
      <label>key <input name="key"></label>
      <label>value <textarea name="value" rows="2" cols="40"></textarea></label>
      <label>headers <input name="headers" placeholder="name=value, ..."></label>
      <label>partition <input name="partition" type="number" min="0" placeholder="any"></label>
      <button>Produce</button>
    </form>
    <h2>Configs</h2>
    ${table(Object.entries(t.configs).sort(), { name: ([k]) => k, value: ([, v]) => v }, 'configs')}
    <form method="post" action="${base}/configs" id="alter-configs">
      <label>set <input name="configs" placeholder="retention.ms=3600000, ..."></label>
      <label>partitions <input name="partitions" type="number" min="${t.partitions.length}" value="${t.partitions.length}"></label>
      <button>Alter</button>
    </form>
    <h2>Delete</h2>
    <form method="post" action="${base}/delete" id="delete-topic"
      onsubmit="return confirm('Delete topic ' + ${new Html(esc(JSON.stringify(name)))} + ' and all its records?')">
      <button>Delete topic ${name}</button>
    </form>`,
  );
}

const TAIL_SCRIPT = `
const rows = document.querySelector('#messages tbody');
const src = new EventSource(location.pathname.replace(/\\/messages$/, '/tail'));
src.onmessage = (e) => { rows.insertAdjacentHTML('beforeend', e.data); };
document.getElementById('tail-state').textContent = 'live: new records appear below';
`;

export function recordsTable(records: ShownRecord[]): Html {
  return table(
    records,
    {
      partition: (r) => r.partition,
      offset: (r) => r.offset,
      timestamp: (r) => new Date(r.timestamp).toISOString(),
      key: (r) => shown(r.key),
      value: (r) => shown(r.value),
      headers: (r) =>
        r.headers.map((h) => html`<div><b>${h.key}</b>=<code>${h.value.text}</code></div>`),
    },
    'messages',
  );
}

export async function messagesPage(
  c: Cluster,
  topic: string,
  q: BrowseQuery,
  query: string,
  tail: boolean,
): Promise<Html> {
  const { records, partitions } = await browse(c, topic, q);
  const base = `/topics/${enc(topic)}`;
  const opt = (v: string, label: string, current: string) =>
    html`<option value="${v}"${new Html(v === current ? ' selected' : '')}>${label}</option>`;
  return page(
    `Messages of ${topic}`,
    html`<form method="get" id="browse"><fieldset>
      <label>partition <select name="partition">${opt('all', 'all', q.partition)}${partitions.map((p) => opt(String(p), String(p), q.partition))}</select></label>
      <label>from <select name="from">${opt('beginning', 'the beginning', q.from)}${opt('end', 'the end', q.from)}${opt('offset', 'offset', q.from)}${opt('timestamp', 'timestamp', q.from)}</select></label>
      <label>offset <input name="offset" type="number" min="0" value="${q.offset}"></label>
      <label>timestamp <input name="timestamp" value="${q.timestamp}" placeholder="2026-01-31T12:00:00Z"></label>
      <label>filter <input name="filter" value="${q.filter}" placeholder="in key, value or headers"></label>
      <label>limit <input name="limit" type="number" min="1" max="1000" value="${q.limit}"></label>
      <label><input type="checkbox" name="tail" value="1"${new Html(tail ? ' checked' : '')}> live tail</label>
      <button>Show</button></fieldset></form>
    <p><span id="count">${records.length} record${records.length === 1 ? '' : 's'}</span> ·
      export ${link(`${base}/messages.json?${query}`, 'JSON')} ${link(`${base}/messages.csv?${query}`, 'CSV')}
      · ${link(base, `topic ${topic}`)} <span id="tail-state"></span></p>
    ${recordsTable(records)}
    ${tail ? new Html(`<script>${TAIL_SCRIPT}</script>`) : ''}`,
  );
}

export async function groupList(c: Cluster): Promise<Html> {
  const groups = (await c.admin.listGroups()).sort((a, b) => a.groupId.localeCompare(b.groupId));
  return page(
    'Consumer groups',
    table(
      groups,
      {
        group: (g) => link(`/groups/${enc(g.groupId)}`, g.groupId),
        state: (g) => g.state,
        members: (g) => g.members,
        generation: (g) => g.generation,
        lag: (g) => g.lag,
      },
      'groups',
    ),
  );
}

export async function groupPage(c: Cluster, id: string): Promise<Html> {
  const g: GroupDescription = await c.admin.describeGroup(id);
  const base = `/groups/${enc(id)}`;
  return page(
    `Group ${id}`,
    html`<p>State ${g.state}, generation ${g.generation}, total lag <span id="total-lag">${g.lag}</span></p>
    <h2>Members</h2>
    ${table(g.members, {
      member: (m) => m.memberId,
      client: (m) => m.clientId,
      instance: (m) => m.groupInstanceId || '-',
      assignment: (m) => m.assignment.map((a) => `${a.topic}-${a.partition}`).join(', '),
    })}
    <h2>Offsets</h2>
    ${table(
      g.offsets,
      {
        topic: (o) => o.topic,
        partition: (o) => o.partition,
        committed: (o) => o.committed ?? '-',
        'log end': (o) => o.logEndOffset,
        lag: (o) => o.lag ?? '-',
        member: (o) => o.memberId ?? '-',
      },
      'offsets',
    )}
    <h2>Reset offsets</h2>
    <p>Only while the group has no active members.</p>
    <form method="post" action="${base}/reset" id="reset-offsets">
      <label>to <select name="to"><option value="earliest">earliest</option><option value="latest">latest</option><option value="offset">offset</option><option value="timestamp">timestamp</option></select></label>
      <label>offset <input name="offset" type="number" min="0"></label>
      <label>timestamp <input name="timestamp" placeholder="2026-01-31T12:00:00Z"></label>
      <label>topic <input name="topic" placeholder="every topic"></label>
      <button>Reset</button>
    </form>
    <form method="post" action="${base}/delete" id="delete-group" onsubmit="return confirm('Delete this group?')">
      <button>Delete group</button></form>`,
  );
}

/** One key's row on the KV page (also what the live watch sends when the key changes). */
export function kvRow(prefix: string, k: KeyValue): Html {
  const key = k.key.toString();
  return html`<tr data-key="${key}"><td>${link(`/kv?prefix=${enc(prefix)}&key=${enc(key)}`, key)}</td><td>${k.version}</td><td>${k.createRevision}</td><td>${k.modRevision}</td><td>${k.lease || '-'}</td></tr>`;
}

/** A key's value as the KV page shows it; null: the key does not exist. */
export function kvValue(key: string, kv: KeyValue | null): Html {
  return kv === null
    ? html`<p class="bad">${key} does not exist</p>`
    : html`<h2>${key}</h2>${shown(showBytes(kv.value))}`;
}

/**
 * Live watch: the page follows its prefix from the revision it was rendered at (nothing in
 * between is missed), through server-sent events: a changed key's row is replaced or added,
 * a deleted one removed, and the value shown follows its key.
 */
const WATCH_SCRIPT = `
const rows = document.querySelector('#keys tbody');
const state = document.getElementById('watch-state');
const q = new URLSearchParams(location.search);
const src = new EventSource('/kv/watch?' + new URLSearchParams({ prefix: q.get('prefix') || '', key: q.get('key') || '', from: document.body.dataset.revision }));
src.onopen = () => { state.textContent = 'live: changes appear as they happen'; };
src.onerror = () => { state.textContent = 'reconnecting…'; };
src.onmessage = (e) => {
  const ev = JSON.parse(e.data);
  const old = [...rows.rows].find((r) => r.dataset.key === ev.key);
  if (ev.type === 'delete') old?.remove();
  else if (old) old.outerHTML = ev.row;
  else rows.insertAdjacentHTML('beforeend', ev.row);
  if (ev.value !== undefined) document.getElementById('value').innerHTML = ev.value;
  document.getElementById('revision').textContent = ev.revision;
};
`;

export async function kvPage(c: Cluster, prefix: string, key: string | undefined): Promise<Html> {
  const { kvs, more, revision } = await c.kv.range(prefix, { limit: 500 });
  const selected = key === undefined ? undefined : ((await c.kv.get(key)) ?? null);
  const cols = ['key', 'version', 'created', 'modified', 'lease'];
  return page(
    'KV store',
    html`<form method="get"><label>prefix <input name="prefix" value="${prefix}"></label><button>List</button></form>
    <p>Revision <span id="revision">${revision}</span>${more ? ' (the first 500 keys)' : ''} <span id="watch-state"></span></p>
    <table id="keys"><thead><tr>${cols.map((n) => html`<th>${n}</th>`)}</tr></thead><tbody>${kvs.map((k) => kvRow(prefix, k))}</tbody></table>
    <div id="value">${selected === undefined ? '' : kvValue(key ?? '', selected)}</div>
    <script>document.body.dataset.revision = ${String(revision)};${new Html(WATCH_SCRIPT)}</script>`,
  );
}

/** The login form (a cluster that requires authentication): the user's SCRAM credentials. */
export function loginPage(next: string, problem?: string): Html {
  return page(
    'Log in',
    html`${problem ? html`<p class="error" id="error">${problem}</p>` : ''}
    <p>This cluster requires authentication: log in as one of its users. Everything you do here
    runs as that user, with their ACLs.</p>
    <form method="post" action="/login" id="login">
      <input type="hidden" name="next" value="${next}">
      <label>user <input name="username" required autocomplete="username"></label>
      <label>password <input name="password" type="password" required autocomplete="current-password"></label>
      <label>mechanism <select name="mechanism"><option>SCRAM-SHA-512</option><option>SCRAM-SHA-256</option></select></label>
      <button>Log in</button>
    </form>`,
  );
}
