import { type KeyValue, KvClient } from '@strand/client';
import { ErrorCode, InvalidRequestError, StrandError } from '@strand/wire';
import { intFlag, need, type Parsed } from './args.js';
import { show, table } from './format.js';

const kvJson = (kv: KeyValue) => ({
  key: show(kv.key),
  value: show(kv.value),
  createRevision: kv.createRevision,
  modRevision: kv.modRevision,
  version: kv.version,
  lease: kv.lease,
});

export const KV_USAGE = `strand kv put KEY VALUE [--lease ID]
strand kv get KEY [--consistency linearizable|stale]
strand kv del KEY [--prefix]
strand kv range PREFIX [--limit N] [--consistency linearizable|stale]
strand kv watch KEY|PREFIX [--prefix] [--from-revision R] [--count N]
strand kv members`;

export async function runKv(p: Parsed, out: (line: string) => void): Promise<void> {
  const [sub, ...args] = p.command.slice(1);
  const client = new KvClient({ bootstrap: p.global.bootstrap, timeoutMs: p.global.timeoutMs });
  const consistency = p.flags.consistency ?? 'linearizable';
  if (consistency !== 'linearizable' && consistency !== 'stale') {
    throw new InvalidRequestError(
      `--consistency must be linearizable or stale, got ${String(consistency)}`,
    );
  }
  try {
    switch (sub) {
      case 'put': {
        const [key, value] = need(args, 2, 'strand kv put KEY VALUE [--lease ID]') as [
          string,
          string,
        ];
        const lease = intFlag(p.flags, 'lease', 1);
        const r = await client.put(key, value, lease ? { lease } : {});
        out(
          p.global.json
            ? JSON.stringify({ key, revision: r.revision })
            : `OK (revision ${r.revision})`,
        );
        return;
      }
      case 'get': {
        const [key] = need(args, 1, 'strand kv get KEY') as [string];
        const kv = await client.get(key, { consistency });
        if (!kv) {
          if (p.global.json) out(JSON.stringify(null));
          throw new StrandError(ErrorCode.KeyNotFound, `key not found: ${key}`);
        }
        out(p.global.json ? JSON.stringify(kvJson(kv)) : show(kv.value));
        return;
      }
      case 'del': {
        const [key] = need(args, 1, 'strand kv del KEY [--prefix]') as [string];
        const r = await client.delete(key, { prefix: p.flags.prefix === true });
        out(p.global.json ? JSON.stringify(r) : `deleted ${r.deleted}`);
        return;
      }
      case 'range': {
        const [prefix] = need(args, 1, 'strand kv range PREFIX [--limit N]') as [string];
        const limit = intFlag(p.flags, 'limit', 0) ?? 0;
        const r = await client.range(prefix, { limit, consistency });
        if (p.global.json) out(JSON.stringify(r.kvs.map(kvJson)));
        else
          out(
            table(
              r.kvs.map((kv) => ({
                key: show(kv.key),
                value: show(kv.value),
                version: kv.version,
                mod: kv.modRevision,
              })),
            ),
          );
        return;
      }
      case 'watch': {
        const [key] = need(
          args,
          1,
          'strand kv watch KEY|PREFIX [--prefix] [--from-revision R] [--count N]',
        ) as [string];
        const limit = intFlag(p.flags, 'count', 1);
        const from = intFlag(p.flags, 'from-revision', 0) ?? 0;
        const controller = new AbortController();
        process.once('SIGINT', () => controller.abort());
        let seen = 0;
        for await (const events of client.watch(key, {
          prefix: p.flags.prefix === true,
          fromRevision: from,
          signal: controller.signal,
        })) {
          for (const e of events) {
            out(
              p.global.json
                ? JSON.stringify({ type: e.type, ...kvJson(e.kv) })
                : `${e.type.toUpperCase()} ${show(e.kv.key)} ${e.type === 'put' ? show(e.kv.value) : ''}`.trimEnd(),
            );
            seen += 1;
            if (limit !== undefined && seen >= limit) return;
          }
        }
        return;
      }
      case 'members': {
        need(args, 0, 'strand kv members');
        const m = await client.members();
        if (p.global.json) out(JSON.stringify(m));
        else {
          out(
            table(
              m.members.map((x) => ({
                id: x.id,
                address: x.address,
                leader: x.isLeader ? '*' : '',
              })),
            ),
          );
          out(
            `term ${m.term}, revision ${m.revision}, applied ${m.appliedIndex} (answered by ${m.answeredBy})`,
          );
        }
        return;
      }
      default:
        throw new InvalidRequestError(`unknown kv command ${sub ?? '(none)'}; usage:\n${KV_USAGE}`);
    }
  } finally {
    client.close();
  }
}
