// The image's HEALTHCHECK: exits 0 when this node's /readyz answers 200. The admin listener is
// STRAND_ADMIN_LISTEN (the image sets 0.0.0.0:9644); it speaks HTTPS when the node has TLS
// (STRAND_TLS_CERT set, or STRAND_ADMIN_SCHEME=https). The probe dials the node itself, so it
// does not check the certificate's name.
import { request as http } from 'node:http';
import { request as https } from 'node:https';

const listen = process.env.STRAND_ADMIN_LISTEN ?? '0.0.0.0:9644';
const port = Number(listen.slice(listen.lastIndexOf(':') + 1));
const secure =
  (process.env.STRAND_ADMIN_SCHEME ?? (process.env.STRAND_TLS_CERT ? 'https' : 'http')) === 'https';
const send = secure ? https : http;
const req = send(
  { host: '127.0.0.1', port, path: '/readyz', timeout: 4000, rejectUnauthorized: false },
  (res) => {
    res.resume();
    process.exit(res.statusCode === 200 ? 0 : 1);
  },
);
req.on('timeout', () => req.destroy(new Error('timed out')));
req.on('error', (err) => {
  process.stderr.write(`readyz: ${err.message}\n`);
  process.exit(1);
});
req.end();
