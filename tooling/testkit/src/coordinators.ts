import { freePort } from './process.js';

/**
 * Where the coordinators of a test cluster listen: each has a client address (what `--peers`
 * names and clients and brokers dial) and a peer address (its Raft listener), both free ports
 * on loopback.
 */
export interface CoordinatorLayout {
  ids: number[];
  clients: Map<number, string>;
  peers: Map<number, string>;
  /**
   * The flags that place coordinator `id` in the layout: --id, --listen, --peer-listen,
   * --peers and --raft-peers (`raftVia` says where `id` dials each peer: e.g. a proxy).
   */
  args(id: number, raftVia?: (to: number) => string): string[];
}

export async function coordinatorLayout(n: number): Promise<CoordinatorLayout> {
  const ids = Array.from({ length: n }, (_, i) => i + 1);
  const clients = new Map<number, string>();
  const peers = new Map<number, string>();
  for (const id of ids) {
    clients.set(id, `127.0.0.1:${await freePort()}`);
    peers.set(id, `127.0.0.1:${await freePort()}`);
  }
  const peerList = ids.map((id) => `${id}=${clients.get(id)}`).join(',');
  return {
    ids,
    clients,
    peers,
    args(id, raftVia = (to) => peers.get(to)!) {
      const others = ids.filter((p) => p !== id);
      return [
        ...['--id', String(id), '--listen', clients.get(id)!, '--peer-listen', peers.get(id)!],
        ...['--peers', peerList],
        ...(others.length > 0
          ? ['--raft-peers', others.map((p) => `${p}=${raftVia(p)}`).join(',')]
          : []),
      ];
    },
  };
}

/**
 * The flags that start coordinator `id`, just added as a learner (`memberAdd`), on a fresh
 * folder: where it listens, that it joins cluster `clusterId`, and every member's client and
 * Raft addresses as the add answered them (what `strand kv member add` prints).
 */
export function learnerArgs(
  id: number,
  clusterId: string,
  members: { id: number; address: string; peerAddress: string }[],
): string[] {
  const self = members.find((m) => m.id === id);
  if (!self) throw new Error(`coordinator ${id} is not among the members`);
  return [
    ...['--id', String(id), '--listen', self.address, '--peer-listen', self.peerAddress],
    ...['--join', 'true', '--cluster-id', clusterId],
    ...['--peers', members.map((m) => `${m.id}=${m.address}`).join(',')],
    ...[
      '--raft-peers',
      members
        .filter((m) => m.id !== id)
        .map((m) => `${m.id}=${m.peerAddress}`)
        .join(','),
    ],
  ];
}
