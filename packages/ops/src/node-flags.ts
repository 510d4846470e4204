/**
 * Node flags every Strand server runs with; the servers' `bin/` scripts carry them in their
 * `#!` line, and whatever starts a server's `dist/main.js` itself passes them.
 *
 * `--initial-old-space-size`: left to itself V8 keeps a small server's old generation limit a
 * MiB or two above what is live (~25 MiB for a broker), so every few MiB promoted — record
 * buffers still waiting for acks=all, follower fetches parked in a long-poll — start a full
 * GC: ~110 of them in 20 s of replicated produce, half a broker's CPU. An initial size puts
 * the limit where a busy broker's garbage fits (the flag can only be given at start-up:
 * `v8.setFlagsFromString` is too late, and NODE_OPTIONS refuses it).
 */
export const SERVER_NODE_FLAGS: readonly string[] = ['--initial-old-space-size=128'];
