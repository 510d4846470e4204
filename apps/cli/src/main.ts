#!/usr/bin/env node
import { runCli } from './cli/run.js';
import { strand } from './commands/index.js';
import { versionText } from './commands/meta.js';

// Open handles (a gRPC channel winding down) must not keep a finished command alive.
runCli(strand, process.argv.slice(2), versionText).then((code) => process.exit(code));
