// @strand/cli — the `strand` command (see main.ts); its pieces, for tests and embedding.
export {
  DEFAULT_BOOTSTRAP,
  DEFAULT_KV_BOOTSTRAP,
  GlobalOptions,
  keyValueList,
  parseCli,
  timeString,
} from './args.js';
export { topicHealth } from './cluster-command.js';
export { formatRecord, parseConsume } from './consume-command.js';
export { show, table } from './format.js';
export { lineToRecord, parseProduce } from './produce-command.js';
export { parseAlterTopic, parseCreateTopic } from './topic-commands.js';
