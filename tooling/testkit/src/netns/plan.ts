/**
 * The address plan of a network-namespace test bed: which namespaces, interfaces and addresses
 * one run uses. Pure: nothing here touches the machine.
 *
 * A run owns the /24 `10.X.Y.0/24` and every name derived from it: the switch namespace
 * `snb-X-Y` (holding the bridge), one namespace `snb-X-Y-NAME` per host, and the root
 * namespace's veth `snb-X-Y` (the test process's own address, `.1`). Hosts get `.10` onwards.
 * Two runs at once (two test files, two CI clones) pick different X-Y, so neither names nor
 * routes collide.
 */

export const NETBED_PREFIX = 'snb-';
/** X of 10.X.Y.0/24 comes from this range, far from the ranges machines commonly use. */
export const SUBNET_SECOND_OCTETS = { from: 200, to: 254 } as const;
const FIRST_HOST = 10;
/** Linux caps interface names at 15 bytes; a host's name is also its switch-side veth's name. */
const HOST_NAME = /^[a-z][a-z0-9]{0,7}$/;

export interface HostPlan {
  name: string;
  /** The host's network namespace. */
  ns: string;
  address: string;
  /** The host's end of its veth (inside `ns`). */
  dev: 'eth0';
  /** The switch's end of the host's veth (inside the switch namespace), attached to the bridge. */
  switchDev: string;
}

export interface NetbedPlan {
  /** `snb-X-Y`: the switch namespace's name, the root veth's name and every host's prefix. */
  runId: string;
  subnet: string;
  prefixLength: 24;
  switchNs: string;
  bridge: 'br0';
  /** The root namespace's side: where the test process itself is on the bed. */
  root: { dev: string; switchDev: 'root'; address: string };
  hosts: HostPlan[];
}

export class NetbedPlanError extends Error {
  readonly code = 'NETBED_PLAN';
}

export function planNetbed(octets: readonly [number, number], hostNames: string[]): NetbedPlan {
  const [x, y] = octets;
  if (!Number.isInteger(x) || x < SUBNET_SECOND_OCTETS.from || x > SUBNET_SECOND_OCTETS.to)
    throw new NetbedPlanError(`second octet ${x} is outside ${SUBNET_SECOND_OCTETS.from}-254`);
  if (!Number.isInteger(y) || y < 0 || y > 255)
    throw new NetbedPlanError(`third octet ${y} is not 0-255`);
  if (hostNames.length === 0 || hostNames.length > 200)
    throw new NetbedPlanError('a bed has 1 to 200 hosts');
  const seen = new Set<string>();
  for (const name of hostNames) {
    if (!HOST_NAME.test(name) || name === 'root' || name === 'br0')
      throw new NetbedPlanError(
        `host name "${name}": 1-8 lower-case letters and digits, starting with a letter, not root or br0`,
      );
    if (seen.has(name)) throw new NetbedPlanError(`host name "${name}" given twice`);
    seen.add(name);
  }
  const runId = `${NETBED_PREFIX}${x}-${y}`;
  const base = `10.${x}.${y}`;
  return {
    runId,
    subnet: `${base}.0/24`,
    prefixLength: 24,
    switchNs: runId,
    bridge: 'br0',
    root: { dev: runId, switchDev: 'root', address: `${base}.1` },
    hosts: hostNames.map((name, i) => ({
      name,
      ns: `${runId}-${name}`,
      address: `${base}.${FIRST_HOST + i}`,
      dev: 'eth0',
      switchDev: name,
    })),
  };
}

/** The run id a namespace of some bed belongs to (`snb-X-Y` for `snb-X-Y` and `snb-X-Y-h`). */
export function runIdOf(namespace: string): string | undefined {
  return /^(snb-\d{1,3}-\d{1,3})(-[a-z][a-z0-9]*)?$/.exec(namespace)?.[1];
}

/** Every namespace of a plan: the hosts' first, the switch last. */
export const namespacesOf = (plan: NetbedPlan): string[] => [
  ...plan.hosts.map((h) => h.ns),
  plan.switchNs,
];
