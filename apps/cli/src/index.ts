// @strand/cli — the `strand` command (see main.ts); its pieces, for tests and embedding.
export { bashCompletion, zshCompletion } from './cli/completion.js';
export { explain, failureText } from './cli/failure.js';
export { durationText, flag, intText, keyValueList, timeText } from './cli/flags.js';
export { DEFAULT_BOOTSTRAP, DEFAULT_KV_BOOTSTRAP } from './cli/globals.js';
export { helpText } from './cli/help.js';
export { type Format, Output, show, table, yaml } from './cli/output.js';
export { parseArgv } from './cli/parse.js';
export { type Io, runCli } from './cli/run.js';
export type { Command, Context, FlagSpec } from './cli/spec.js';
export { command } from './cli/spec.js';
export { UsageError } from './cli/usage.js';
export { topicHealth } from './commands/cluster.js';
export { formatRecord } from './commands/consume.js';
export { strand } from './commands/index.js';
export { parseTxn } from './commands/kv-txn.js';
export { lineToRecord } from './commands/produce.js';
