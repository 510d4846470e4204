/** HTML text: everything that came from a cluster or a user is escaped on the way in. */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

export type Part = Html | string | number | boolean | null | undefined | Part[];

export function esc(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

function render(p: Part): string {
  if (p === null || p === undefined || p === false) return '';
  if (p instanceof Html) return p.text;
  if (Array.isArray(p)) return p.map(render).join('');
  return esc(String(p));
}

/** A template whose interpolations are escaped unless they are Html already. */
export function html(strings: TemplateStringsArray, ...parts: Part[]): Html {
  let out = strings[0] ?? '';
  parts.forEach((p, i) => {
    out += render(p) + (strings[i + 1] ?? '');
  });
  return new Html(out);
}

/** A table: one column per key of `cols`, cells rendered by its function. */
export function table<T>(rows: T[], cols: Record<string, (row: T) => Part>, id?: string): Html {
  const names = Object.keys(cols);
  return html`<table${id ? new Html(` id="${esc(id)}"`) : ''}><thead><tr>${names.map(
    (n) => html`<th>${n}</th>`,
  )}</tr></thead><tbody>${rows.map(
    (r) => html`<tr>${names.map((n) => html`<td>${cols[n]!(r)}</td>`)}</tr>`,
  )}</tbody></table>`;
}

const STYLE = `
body{font:14px system-ui,sans-serif;margin:0;color:#222}
nav{background:#1d3557;padding:.6em 1em}nav a{color:#fff;margin-right:1.2em;text-decoration:none}
main{padding:1em 1.5em}table{border-collapse:collapse;margin:.5em 0 1.5em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f1f3f5}pre{margin:0;white-space:pre-wrap;max-width:60em}
.bad{color:#b00020;font-weight:600}.ok{color:#2b8a3e}.hex{color:#555;font-family:monospace}
form.inline{display:inline}fieldset{border:1px solid #ccc;margin:.5em 0 1em;padding:.5em 1em}
label{margin-right:1em}.error{background:#fde2e1;padding:.6em 1em;border:1px solid #b00020}
nav .who{float:right;color:#fff}nav .who button{margin-left:.6em}
`;

/** Where the server puts who is logged in (and the logout button) on every page. */
export const WHO_SLOT = '<!--who-->';

/** A whole page: the navigation, the title and the body. */
export function page(title: string, body: Part): Html {
  return html`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title} · Strand</title><style>${new Html(STYLE)}</style></head><body><nav><a href="/">Overview</a><a href="/topics">Topics</a><a href="/groups">Consumer groups</a><a href="/kv">KV</a><span class="who">${new Html(WHO_SLOT)}</span></nav><main><h1>${title}</h1>${body}</main></body></html>`;
}
