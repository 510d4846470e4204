import { describe, expect, it } from 'vitest';
import {
  blockCommand,
  clearQdiscCommand,
  duplicateCommand,
  faultChainCommands,
  healCommands,
  lossCommand,
  netemCommand,
  setupCommands,
  throttleCommand,
} from './commands.js';
import { planNetbed } from './plan.js';

const plan = planNetbed([210, 5], ['c1', 'b1']);
const [c1, b1] = plan.hosts as [(typeof plan.hosts)[0], (typeof plan.hosts)[0]];
const line = (argv: readonly string[]) => argv.join(' ');

describe('netbed commands', () => {
  it('builds the switch, one veth per host on the bridge, and the root veth', () => {
    const cmds = setupCommands(plan).map(line);
    expect(cmds[0]).toBe('ip netns add snb-210-5');
    expect(cmds).toContain('ip -n snb-210-5 link add name br0 type bridge');
    expect(cmds).toContain(
      'ip -n snb-210-5 link add name c1 type veth peer name eth0 netns snb-210-5-c1',
    );
    expect(cmds).toContain('ip -n snb-210-5 link set dev c1 master br0 up');
    expect(cmds).toContain('ip -n snb-210-5-c1 addr add 10.210.5.10/24 dev eth0');
    expect(cmds).toContain('ip -n snb-210-5-b1 link set dev lo up');
    expect(cmds).toContain('ip link add name snb-210-5 type veth peer name root netns snb-210-5');
    expect(cmds).toContain('ip addr add 10.210.5.1/24 dev snb-210-5');
    // Only the root veth is made in the root namespace; every other command names a namespace.
    const inRoot = cmds.filter((c) => !/^ip (-n|netns)/.test(c));
    expect(inRoot).toEqual([
      'ip link add name snb-210-5 type veth peer name root netns snb-210-5',
      'ip addr add 10.210.5.1/24 dev snb-210-5',
      'ip link set dev snb-210-5 up',
    ]);
    // A host's namespace exists before its veth end is moved into it.
    expect(cmds.indexOf('ip netns add snb-210-5-c1')).toBeLessThan(
      cmds.indexOf('ip -n snb-210-5 link add name c1 type veth peer name eth0 netns snb-210-5-c1'),
    );
  });

  it('drops a partitioned sender at the receiver, in chains of its own', () => {
    expect(faultChainCommands(b1).map(line)).toEqual([
      'ip netns exec snb-210-5-b1 iptables -w -N STRAND-FAULT',
      'ip netns exec snb-210-5-b1 iptables -w -I INPUT -j STRAND-FAULT',
      'ip netns exec snb-210-5-b1 iptables -w -t mangle -N STRAND-DUP',
      'ip netns exec snb-210-5-b1 iptables -w -t mangle -I POSTROUTING -j STRAND-DUP',
    ]);
    expect(line(blockCommand(c1, b1))).toBe(
      'ip netns exec snb-210-5-b1 iptables -w -A STRAND-FAULT -s 10.210.5.10 -j DROP',
    );
    expect(healCommands(b1).map(line)).toEqual([
      'ip netns exec snb-210-5-b1 iptables -w -F STRAND-FAULT',
      'ip netns exec snb-210-5-b1 iptables -w -t mangle -F STRAND-DUP',
    ]);
  });

  it('drops or duplicates a random share with the statistic match', () => {
    expect(line(lossCommand(c1, 0.2))).toBe(
      'ip netns exec snb-210-5-c1 iptables -w -A STRAND-FAULT -i eth0 -m statistic --mode random --probability 0.2 -j DROP',
    );
    expect(line(duplicateCommand(c1, b1, 0.5))).toBe(
      'ip netns exec snb-210-5-c1 iptables -w -t mangle -A STRAND-DUP -o eth0 -d 10.210.5.11 -m statistic --mode random --probability 0.5 -j TEE --gateway 10.210.5.11',
    );
    for (const p of [0, -0.1, 1.5, Number.NaN])
      expect(() => lossCommand(c1, p)).toThrow(RangeError);
  });

  it('writes netem, a throttle and their removal as tc commands', () => {
    expect(line(netemCommand(c1, { delayMs: 50, jitterMs: 10, reorderPercent: 25 }))).toBe(
      'ip netns exec snb-210-5-c1 tc qdisc replace dev eth0 root netem delay 50ms 10ms reorder 25%',
    );
    expect(line(netemCommand(c1, { lossPercent: 5, duplicatePercent: 1 }))).toBe(
      'ip netns exec snb-210-5-c1 tc qdisc replace dev eth0 root netem loss 5% duplicate 1%',
    );
    expect(() => netemCommand(c1, {})).toThrow(/empty/);
    expect(() => netemCommand(c1, { reorderPercent: 10 })).toThrow(/delay/);
    expect(() => netemCommand(c1, { lossPercent: 101 })).toThrow(RangeError);
    expect(line(throttleCommand(b1, 512))).toBe(
      'ip netns exec snb-210-5-b1 tc qdisc replace dev eth0 root tbf rate 512kbit burst 16kb latency 500ms',
    );
    expect(() => throttleCommand(b1, 0)).toThrow(RangeError);
    expect(line(clearQdiscCommand(b1))).toBe(
      'ip netns exec snb-210-5-b1 tc qdisc del dev eth0 root',
    );
  });
});
