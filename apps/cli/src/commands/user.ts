import { flag } from '../cli/flags.js';
import { table } from '../cli/output.js';
import { type Command, type Context, command } from '../cli/spec.js';
import { readLine } from '../cli/stdin.js';
import { UsageError } from '../cli/usage.js';
import { withAdmin } from './common.js';

const NAME = { name: 'NAME', help: 'the user name (letters, digits, . _ @ + -)' };

const CREDENTIAL_FLAGS = {
  mechanism: flag.choice(['SCRAM-SHA-512', 'SCRAM-SHA-256'], 'the SCRAM mechanism to set', {
    default: 'SCRAM-SHA-512',
  }),
  iterations: flag.int('PBKDF2 iterations', { min: 4096, max: 16384, default: 4096 }),
};

/**
 * The new password: $STRAND_NEW_PASSWORD, else the next line of stdin (after the connection's
 * own with --password-stdin). Never a flag, which anyone on the machine can read.
 */
async function newPassword(ctx: Context): Promise<string> {
  const password = ctx.env.STRAND_NEW_PASSWORD || (await readLine(process.stdin));
  if (!password)
    throw new UsageError('no new password: set $STRAND_NEW_PASSWORD or give it on stdin', ctx.path);
  return password;
}

const create = command({
  name: 'create',
  summary: 'create a user with a SCRAM credential (the password from stdin or a variable)',
  description:
    'Creates user NAME (USER_EXISTS if there is one). The password comes from $STRAND_NEW_PASSWORD, else the first line of stdin; the SCRAM credential is made here, so the password never leaves this process. Needs ALTER on the cluster (or a super user).',
  args: [NAME],
  flags: CREDENTIAL_FLAGS,
  target: 'brokers',
  examples: [
    { command: "echo 's3cret-pass' | strand user create alice" },
    { command: 'STRAND_NEW_PASSWORD=... strand user create bob --mechanism SCRAM-SHA-256' },
  ],
  run: async (ctx) => {
    const password = await newPassword(ctx);
    return withAdmin(ctx, async (admin) => {
      await admin.createUser(ctx.args[0]!, password, ctx.flags);
      ctx.out.result(
        { created: ctx.args[0], mechanism: ctx.flags.mechanism },
        `created user ${ctx.args[0]} (${ctx.flags.mechanism})`,
      );
    });
  },
});

const passwd = command({
  name: 'passwd',
  summary: "set a user's password (for one mechanism)",
  description:
    "Sets the password of user NAME for --mechanism (UNKNOWN_USER if there is none), from $STRAND_NEW_PASSWORD or the first line of stdin. The user's open sessions go on until their tokens expire.",
  args: [NAME],
  flags: CREDENTIAL_FLAGS,
  target: 'brokers',
  examples: [{ command: "echo 'n3w-pass' | strand user passwd alice" }],
  run: async (ctx) => {
    const password = await newPassword(ctx);
    return withAdmin(ctx, async (admin) => {
      await admin.changePassword(ctx.args[0]!, password, ctx.flags);
      ctx.out.result(
        { updated: ctx.args[0], mechanism: ctx.flags.mechanism },
        `changed the password of ${ctx.args[0]} (${ctx.flags.mechanism})`,
      );
    });
  },
});

const del = command({
  name: 'delete',
  aliases: ['rm'],
  summary: 'delete a user: its open sessions end, on every node',
  args: [NAME],
  target: 'brokers',
  examples: [{ command: 'strand user delete alice' }],
  run: (ctx) =>
    withAdmin(ctx, async (admin) => {
      await admin.deleteUser(ctx.args[0]!);
      ctx.out.result({ deleted: ctx.args[0] }, `deleted user ${ctx.args[0]}`);
    }),
});

const list = command({
  name: 'list',
  aliases: ['ls'],
  summary: 'users and their SCRAM mechanisms',
  target: 'brokers',
  examples: [{ command: 'strand user list' }],
  run: (ctx) =>
    withAdmin(ctx, async (admin) => {
      const users = await admin.listUsers();
      ctx.out.result(users, () =>
        table(
          users.map((u) => ({ user: u.name, mechanisms: u.mechanisms.join(',') })),
          '(no users)',
        ),
      );
    }),
});

export const user: Command = {
  name: 'user',
  summary: 'create, delete, list users and set their passwords (SCRAM)',
  subcommands: [create, passwd, del, list],
};
