/**
 * The commands (argv arrays) that build a bed, inject its faults and tear it down. Pure: the
 * bed runs them. Every fault lives inside the bed's own namespaces (iptables chains and qdiscs
 * of their own), so deleting the namespaces removes them all.
 */
import type { HostPlan, NetbedPlan } from './plan.js';

export type Command = readonly string[];

/** The filter-table chain, jumped to from INPUT, that holds a host's partitions and loss. */
export const FAULT_CHAIN = 'STRAND-FAULT';
/** The mangle-table chain, jumped to from POSTROUTING, that holds a host's duplication. */
export const DUP_CHAIN = 'STRAND-DUP';

const inNs = (ns: string, argv: Command): Command => ['ip', 'netns', 'exec', ns, ...argv];
const iptables = (ns: string, ...args: string[]): Command => inNs(ns, ['iptables', '-w', ...args]);

export function setupCommands(plan: NetbedPlan): Command[] {
  const sw = plan.switchNs;
  const cidr = (address: string) => `${address}/${plan.prefixLength}`;
  const cmds: Command[] = [
    ['ip', 'netns', 'add', sw],
    ['ip', '-n', sw, 'link', 'set', 'dev', 'lo', 'up'],
    ['ip', '-n', sw, 'link', 'add', 'name', plan.bridge, 'type', 'bridge'],
    ['ip', '-n', sw, 'link', 'set', 'dev', plan.bridge, 'up'],
  ];
  for (const h of plan.hosts) {
    cmds.push(
      ['ip', 'netns', 'add', h.ns],
      ['ip', '-n', h.ns, 'link', 'set', 'dev', 'lo', 'up'],
      // Both ends are made where they live: no name ever appears in the root namespace.
      [
        'ip',
        '-n',
        sw,
        'link',
        'add',
        'name',
        h.switchDev,
        'type',
        'veth',
        'peer',
        'name',
        h.dev,
        'netns',
        h.ns,
      ],
      ['ip', '-n', sw, 'link', 'set', 'dev', h.switchDev, 'master', plan.bridge, 'up'],
      ['ip', '-n', h.ns, 'addr', 'add', cidr(h.address), 'dev', h.dev],
      ['ip', '-n', h.ns, 'link', 'set', 'dev', h.dev, 'up'],
    );
  }
  const root = plan.root;
  cmds.push(
    [
      'ip',
      'link',
      'add',
      'name',
      root.dev,
      'type',
      'veth',
      'peer',
      'name',
      root.switchDev,
      'netns',
      sw,
    ],
    ['ip', '-n', sw, 'link', 'set', 'dev', root.switchDev, 'master', plan.bridge, 'up'],
    ['ip', 'addr', 'add', cidr(root.address), 'dev', root.dev],
    ['ip', 'link', 'set', 'dev', root.dev, 'up'],
  );
  return cmds;
}

/** The chains a host's faults go in (run once per host, before its first fault). */
export function faultChainCommands(h: HostPlan): Command[] {
  return [
    iptables(h.ns, '-N', FAULT_CHAIN),
    iptables(h.ns, '-I', 'INPUT', '-j', FAULT_CHAIN),
    iptables(h.ns, '-t', 'mangle', '-N', DUP_CHAIN),
    iptables(h.ns, '-t', 'mangle', '-I', 'POSTROUTING', '-j', DUP_CHAIN),
  ];
}

/**
 * Packets from `from` to `to` vanish: dropped as they arrive at `to`, so the sender sees what a
 * real partition gives it (silence and timeouts, not an error from its own stack).
 */
export const blockCommand = (from: { address: string }, to: HostPlan): Command =>
  iptables(to.ns, '-A', FAULT_CHAIN, '-s', from.address, '-j', 'DROP');

/** A share (0-1) of the packets arriving at `h` over its veth is dropped. */
export const lossCommand = (h: HostPlan, probability: number): Command =>
  iptables(h.ns, '-A', FAULT_CHAIN, '-i', h.dev, ...randomShare(probability), '-j', 'DROP');

/**
 * A share (0-1) of the packets `h` sends to `peer` is sent twice: TEE clones the packet to the
 * peer itself as the next hop. (netem's duplicate does the same, where the kernel has netem.)
 */
export const duplicateCommand = (
  h: HostPlan,
  peer: { address: string },
  probability: number,
): Command =>
  iptables(
    h.ns,
    ...['-t', 'mangle', '-A', DUP_CHAIN, '-o', h.dev, '-d', peer.address],
    ...randomShare(probability),
    ...['-j', 'TEE', '--gateway', peer.address],
  );

/** Lifts every partition, loss and duplication of a host. */
export const healCommands = (h: HostPlan): Command[] => [
  iptables(h.ns, '-F', FAULT_CHAIN),
  iptables(h.ns, '-t', 'mangle', '-F', DUP_CHAIN),
];

function randomShare(probability: number): string[] {
  if (!(probability > 0 && probability <= 1))
    throw new RangeError(`a probability is in (0, 1], not ${probability}`);
  return ['-m', 'statistic', '--mode', 'random', '--probability', String(probability)];
}

/** What `tc netem` does to everything a host sends over its veth. */
export interface NetemSpec {
  delayMs?: number;
  jitterMs?: number;
  /** Percentages, 0-100. */
  lossPercent?: number;
  duplicatePercent?: number;
  /** With a delay: this share goes at once, the rest waits (so packets arrive out of order). */
  reorderPercent?: number;
}

export function netemCommand(h: HostPlan, spec: NetemSpec): Command {
  const args: string[] = [];
  const pct = (name: string, v: number | undefined) => {
    if (v === undefined) return;
    if (!(v >= 0 && v <= 100)) throw new RangeError(`${name} is a percentage, not ${v}`);
    args.push(name, `${v}%`);
  };
  if (spec.delayMs !== undefined || spec.reorderPercent !== undefined) {
    const delay = spec.delayMs ?? 0;
    if (!(delay >= 0)) throw new RangeError(`delay ${delay} ms`);
    if (spec.reorderPercent !== undefined && delay === 0)
      throw new RangeError('netem reorders only delayed packets: give a delay');
    args.push('delay', `${delay}ms`);
    if (spec.jitterMs !== undefined) args.push(`${spec.jitterMs}ms`);
  }
  pct('loss', spec.lossPercent);
  pct('duplicate', spec.duplicatePercent);
  pct('reorder', spec.reorderPercent);
  if (args.length === 0) throw new RangeError('an empty netem spec');
  return inNs(h.ns, ['tc', 'qdisc', 'replace', 'dev', h.dev, 'root', 'netem', ...args]);
}

/** A slow link: everything `h` sends is held to `kbit` kbit/s (token bucket), queueing the rest. */
export function throttleCommand(h: HostPlan, kbit: number): Command {
  if (!(Number.isInteger(kbit) && kbit > 0)) throw new RangeError(`rate ${kbit} kbit/s`);
  return inNs(h.ns, [
    ...['tc', 'qdisc', 'replace', 'dev', h.dev, 'root', 'tbf'],
    ...['rate', `${kbit}kbit`, 'burst', '16kb', 'latency', '500ms'],
  ]);
}

/** Back to the plain queue (after netem or a throttle). */
export const clearQdiscCommand = (h: HostPlan): Command =>
  inNs(h.ns, ['tc', 'qdisc', 'del', 'dev', h.dev, 'root']);
