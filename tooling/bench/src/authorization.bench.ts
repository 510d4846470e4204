import { NodeSecurity, produceChecks } from '@strand/security';
import { envNumber } from './util.js';

/**
 * What a request's authorization costs, in process: the checks a produce to one topic and a
 * fetch of ten make (the Guard over the node's ACLs, as the broker runs them), for a user its
 * ACLs allow — among STRAND_BENCH_AUTHZ_ACLS other principals' ACLs (default 1000) — and for a
 * super user (no ACL looked at: what authorization off costs). Medians of
 * STRAND_BENCH_AUTHZ_ROUNDS rounds (default 7) of STRAND_BENCH_AUTHZ_OPS requests each.
 */

const OPS = envNumber('STRAND_BENCH_AUTHZ_OPS', 200_000);
const ROUNDS = envNumber('STRAND_BENCH_AUTHZ_ROUNDS', 7);
const OTHERS = envNumber('STRAND_BENCH_AUTHZ_ACLS', 1000);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function security(): NodeSecurity {
  const s = new NodeSecurity(
    {
      authentication: 'required',
      superUsers: ['User:admin'],
      tokenTtlMs: 600_000,
      allowEveryoneIfNoAclFound: false,
      tlsCert: 'unused',
    },
    () => undefined,
  );
  const acl = (principal: string, resourceType: string, name: string, patternType = 'literal') => ({
    resourceType,
    patternType,
    name,
    principal,
    host: '*',
    operation: 'all',
    permission: 'allow',
  });
  const acls = [
    acl('User:bench', 'topic', 'orders.', 'prefixed'),
    acl('User:bench', 'group', '*'),
    ...Array.from({ length: OTHERS }, (_, i) => acl(`User:other-${i}`, 'topic', `t-${i}`)),
  ];
  for (const [i, a] of acls.entries())
    s.state.apply(`/strand/acls/${i}`, Buffer.from(JSON.stringify(a)));
  return s;
}

/** Nanoseconds per request, per round. */
function time(op: () => void): number[] {
  const rounds: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < OPS; i++) op();
    rounds.push(Number(process.hrtime.bigint() - t0) / OPS);
  }
  return rounds;
}

export default async function authorizationBench(): Promise<void> {
  const s = security();
  const produce = produceChecks({ partitions: [{ topic: 'orders.eu' }] });
  const fetch = produceChecks({
    partitions: Array.from({ length: 10 }, (_, i) => ({ topic: `orders.${i}` })),
  });
  console.log(
    `${OPS.toLocaleString('en-US')} requests x ${ROUNDS} rounds; ${OTHERS} other principals' ACLs`,
  );
  for (const [what, checks] of [
    ['produce, 1 topic', produce],
    ['10 topics', fetch],
  ] as const) {
    const row: string[] = [];
    const ns: Record<string, number> = {};
    const sessions = ['User:bench', 'User:admin'].map((principal) => ({
      principal,
      host: '127.0.0.1',
    }));
    // Warm both paths before timing either.
    for (const session of sessions)
      for (let i = 0; i < OPS / 10; i++) s.authorize(session, checks, what);
    for (const session of sessions) {
      const { principal } = session;
      const rounds = time(() => s.authorize(session, checks, what));
      ns[principal] = median(rounds);
      row.push(
        `${principal === 'User:admin' ? 'super user' : 'ACLs'} ${ns[principal]!.toFixed(0)} ns`,
      );
    }
    console.log(
      `  ${what}: ${row.join(', ')}; ACLs cost ${(ns['User:bench']! - ns['User:admin']!).toFixed(0)} ns more per request`,
    );
  }
}
