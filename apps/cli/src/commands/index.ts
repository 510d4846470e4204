import type { Command } from '../cli/spec.js';
import { acl } from './acl.js';
import { broker } from './broker.js';
import { cluster } from './cluster.js';
import { consume } from './consume.js';
import { dev } from './dev.js';
import { group } from './group.js';
import { kv } from './kv.js';
import { completion, help, version } from './meta.js';
import { produce } from './produce.js';
import { topic } from './topic.js';
import { user } from './user.js';

/**
 * The whole `strand` command: one entry per command. A new command is one more entry here
 * (or in its group's `subcommands`); help, parsing, errors and completion follow from it.
 */
export const strand: Command = {
  name: 'strand',
  summary: "Strand's command line",
  description:
    "strand — Strand's command line: a dev cluster, topics, produce and consume, consumer groups, the cluster's state, the KV store, users and ACLs. Exit status: 0 on success, 2 for bad input, 1 for any other error (one line on stderr; JSON with --json).",
  subcommands: [
    dev,
    topic,
    broker,
    produce,
    consume,
    group,
    cluster,
    kv,
    user,
    acl,
    completion,
    version,
    help,
  ],
  examples: [
    {
      command: 'strand dev',
      note: 'a single-node cluster: brokers on 127.0.0.1:9092, coordinator on 127.0.0.1:2379',
    },
    { command: 'strand topic create events --partitions 3' },
    { command: 'seq 1 10 | strand produce events' },
    { command: 'strand consume events --from-beginning' },
    { command: 'strand help topic create' },
  ],
};
