import { type AclBinding, describeAcl, PrincipalSchema } from '@strand/auth';
import { z } from 'zod';
import { flag } from '../cli/flags.js';
import { table } from '../cli/output.js';
import { type Command, command } from '../cli/spec.js';
import { UsageError } from '../cli/usage.js';
import { type AclFlags, bindingsOf, filtersOf, operationText } from './acl-flags.js';
import { withAdmin } from './common.js';

const principals = (help: string) =>
  flag.custom(z.array(PrincipalSchema), `${help} (repeatable)`, {
    placeholder: 'User:NAME',
    repeatable: true,
  } as const);

const RESOURCE_FLAGS = {
  topic: flag.list('a topic (with --resource-pattern-type prefixed: a prefix; * for all)'),
  group: flag.list('a consumer group (prefixed or * as for --topic)'),
  cluster: flag.bool('the cluster (topic creation, ACL and user admin, idempotent writes)'),
  'kv-prefix': flag.list('keys of the KV store starting with this prefix (* for every key)'),
  operation: flag.custom(
    z.array(operationText),
    'read, write, create, delete, alter, describe, describe-configs, alter-configs, cluster-action, idempotent-write or all (repeatable)',
    { placeholder: 'OP', repeatable: true } as const,
  ),
  host: flag.list('the client address it applies to (default: every host, *)'),
};

const PATTERN = ['literal', 'prefixed'] as const;
const SELECT = ['literal', 'prefixed', 'any', 'match'] as const;

const rows = (acls: AclBinding[]) =>
  table(
    acls.map((a) => ({
      principal: a.principal,
      permission: a.permission,
      operation: a.operation,
      resource: a.resourceType,
      pattern: a.patternType,
      name: a.name,
      host: a.host,
    })),
    '(no ACLs)',
  );

/** The flags' values as the pure functions take them; a missing part is a usage error. */
const usage = <T>(path: string[], f: () => T): T => {
  try {
    return f();
  } catch (err) {
    throw new UsageError((err as Error).message, path);
  }
};

const add = command({
  name: 'add',
  aliases: ['create'],
  summary: 'allow or deny principals operations on topics, groups, the cluster or KV keys',
  description:
    'Adds one ACL per combination of principal, host, operation and resource, as kafka-acls does. Deny wins over allow; with authentication on, a request no ACL allows is refused (super users pass). Needs ALTER on the cluster (or a super user). An ACL takes effect on every node within about a second.',
  flags: {
    'allow-principal': principals('a principal to allow'),
    'deny-principal': principals('a principal to deny'),
    ...RESOURCE_FLAGS,
    'resource-pattern-type': flag.choice(PATTERN, 'how --topic and --group match names', {
      default: 'literal',
    }),
  },
  target: 'brokers',
  examples: [
    {
      command:
        'strand acl add --allow-principal User:alice --operation read --topic orders. --resource-pattern-type prefixed',
    },
    { command: 'strand acl add --allow-principal User:alice --operation read --group billing' },
    { command: 'strand acl add --deny-principal User:bob --operation write --topic payments' },
    { command: 'strand acl add --allow-principal User:app --operation all --kv-prefix app/' },
  ],
  check: ({ flags }) => {
    usage(['acl', 'add'], () => bindingsOf(flags as AclFlags));
  },
  run: (ctx) =>
    withAdmin(ctx, async (admin) => {
      const created = await admin.createAcls(bindingsOf(ctx.flags as AclFlags));
      ctx.out.result(created, () => created.map((a) => `added: ${describeAcl(a)}`).join('\n'));
    }),
});

const selectFlags = {
  principal: principals('ACLs of this principal'),
  'allow-principal': principals('allow ACLs of this principal'),
  'deny-principal': principals('deny ACLs of this principal'),
  ...RESOURCE_FLAGS,
  'resource-pattern-type': flag.choice(
    SELECT,
    'literal or prefixed ACLs only, any, or match: every ACL that matches the name given',
    { defaultText: 'literal when a resource is named, else any' },
  ),
};

const list = command({
  name: 'list',
  aliases: ['ls'],
  summary: 'the ACLs, or those matching the flags given',
  flags: selectFlags,
  target: 'brokers',
  examples: [
    { command: 'strand acl list' },
    { command: 'strand acl list --principal User:alice' },
    { command: 'strand acl list --topic orders.a --resource-pattern-type match' },
  ],
  run: (ctx) =>
    withAdmin(ctx, async (admin) => {
      const seen = new Map<string, AclBinding>();
      for (const filter of filtersOf(ctx.flags as AclFlags))
        for (const a of await admin.describeAcls(filter)) seen.set(JSON.stringify(a), a);
      const acls = [...seen.values()];
      ctx.out.result(acls, () => rows(acls));
    }),
});

const remove = command({
  name: 'remove',
  aliases: ['rm', 'delete'],
  summary: 'remove every ACL matching the flags given (and print them)',
  description:
    'Removes every ACL that matches: the principal(s), resource(s), operation(s) and host(s) given, each left out matching any. At least one of them is needed (to remove every ACL, say --resource-pattern-type any).',
  flags: selectFlags,
  target: 'brokers',
  examples: [
    { command: 'strand acl remove --allow-principal User:alice --operation read --topic orders.a' },
    { command: 'strand acl remove --principal User:bob' },
  ],
  check: ({ flags }) => {
    const f = flags as AclFlags;
    const named =
      f.principal ??
      f['allow-principal'] ??
      f['deny-principal'] ??
      f.topic ??
      f.group ??
      f['kv-prefix'] ??
      f.operation ??
      f.host;
    if (!named && !f.cluster && f['resource-pattern-type'] === undefined)
      throw new UsageError(
        'say which ACLs to remove (a principal, a resource, an operation or a host)',
        ['acl', 'remove'],
      );
  },
  run: (ctx) =>
    withAdmin(ctx, async (admin) => {
      const removed: AclBinding[] = [];
      for (const filter of filtersOf(ctx.flags as AclFlags))
        removed.push(...(await admin.deleteAcls(filter)));
      ctx.out.result(removed, () =>
        removed.length === 0
          ? '(no ACL matched)'
          : removed.map((a) => `removed: ${describeAcl(a)}`).join('\n'),
      );
    }),
});

export const acl: Command = {
  name: 'acl',
  summary: 'add, list and remove ACLs (Kafka’s model, plus KV key prefixes)',
  subcommands: [add, list, remove],
};
