// @strand/cli — the `strand` command (see main.ts); its pieces, for tests and embedding.
export { DEFAULT_BOOTSTRAP, GlobalOptions, parseCli } from './args.js';
export { show, table } from './format.js';
