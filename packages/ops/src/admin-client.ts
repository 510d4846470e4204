import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

/**
 * How to read a node's admin port: an https one is checked against the cluster's CA (it
 * serves the node's own certificate), and `/metrics` under authentication wants the bearer
 * token of the nodes' `--metrics-token-file`.
 */
export interface AdminAccess {
  ca?: Buffer;
  token?: string;
}

/** A body larger than this is not an admin answer: the request fails instead of buffering it. */
const MAX_BODY_BYTES = 64 * 1024 * 1024;

/**
 * GETs `path` of a node's admin URL (`http(s)://host:port`): its status and body. Fails on a
 * connection, TLS or timeout problem; any status is an answer.
 */
export function adminGet(
  adminUrl: string,
  path: string,
  opts: AdminAccess & { timeoutMs?: number } = {},
): Promise<{ status: number; text: string }> {
  const url = new URL(path, adminUrl);
  const headers = opts.token ? { authorization: `Bearer ${opts.token}` } : {};
  const timeout = opts.timeoutMs ?? 5000;
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(
      url,
      { method: 'GET', headers, ...(url.protocol === 'https:' && opts.ca ? { ca: opts.ca } : {}) },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_BODY_BYTES) req.destroy(new Error(`${url} answered more than 64 MiB`));
          else chunks.push(c);
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.setTimeout(timeout, () => req.destroy(new Error(`no answer within ${timeout} ms`)));
    req.on('error', reject);
    req.end();
  });
}
