import { describe, expect, it } from 'vitest';
import { NetbedPlanError, namespacesOf, planNetbed, runIdOf } from './plan.js';

describe('planNetbed', () => {
  it('gives every host its own namespace and address on the run subnet, the test process .1', () => {
    const plan = planNetbed([201, 37], ['c1', 'b1', 'client']);
    expect(plan.runId).toBe('snb-201-37');
    expect(plan.subnet).toBe('10.201.37.0/24');
    expect(plan.switchNs).toBe('snb-201-37');
    expect(plan.root).toEqual({ dev: 'snb-201-37', switchDev: 'root', address: '10.201.37.1' });
    expect(plan.hosts).toEqual([
      { name: 'c1', ns: 'snb-201-37-c1', address: '10.201.37.10', dev: 'eth0', switchDev: 'c1' },
      { name: 'b1', ns: 'snb-201-37-b1', address: '10.201.37.11', dev: 'eth0', switchDev: 'b1' },
      {
        name: 'client',
        ns: 'snb-201-37-client',
        address: '10.201.37.12',
        dev: 'eth0',
        switchDev: 'client',
      },
    ]);
    expect(namespacesOf(plan)).toEqual([
      'snb-201-37-c1',
      'snb-201-37-b1',
      'snb-201-37-client',
      'snb-201-37',
    ]);
  });

  it('keeps every interface name within the kernel limit of 15 bytes', () => {
    const plan = planNetbed([254, 255], ['abcdefgh']);
    for (const name of [plan.root.dev, plan.hosts[0]!.switchDev, plan.hosts[0]!.dev])
      expect(name.length).toBeLessThanOrEqual(15);
  });

  it('refuses octets outside its range, bad or repeated host names', () => {
    expect(() => planNetbed([10, 0], ['a'])).toThrow(NetbedPlanError);
    expect(() => planNetbed([200, 256], ['a'])).toThrow(NetbedPlanError);
    expect(() => planNetbed([200, 1.5], ['a'])).toThrow(NetbedPlanError);
    for (const bad of ['', 'Upper', '1st', 'toolongname', 'root', 'br0', 'a-b'])
      expect(() => planNetbed([200, 1], [bad])).toThrow(NetbedPlanError);
    expect(() => planNetbed([200, 1], ['a', 'a'])).toThrow(/twice/);
    expect(() => planNetbed([200, 1], [])).toThrow(NetbedPlanError);
  });

  it("tells a bed's namespaces by their run id, and nobody else's", () => {
    expect(runIdOf('snb-201-37')).toBe('snb-201-37');
    expect(runIdOf('snb-201-37-c1')).toBe('snb-201-37');
    for (const other of ['snbprobe-12', 'snb-201', 'netns1', 'snb-201-37-C1', 'xsnb-201-37'])
      expect(runIdOf(other)).toBeUndefined();
  });
});
