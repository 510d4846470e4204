import { describe, expect, it } from 'vitest';
import { schemaProblems } from './k8s-schema.js';
import { type Container, NAMESPACE, type Pod, type StatefulSet, startPod } from './pods.js';
import { kustomize, type Manifest } from './repo.js';

const base = kustomize('deploy/kubernetes/base');
const tls = kustomize('deploy/kubernetes/tls');

describe('the Kubernetes manifests against the Kubernetes schemas', () => {
  it('the base and the TLS overlay render and conform', async () => {
    expect(base.map((m) => `${m.kind}/${m.metadata.name}`).sort()).toEqual([
      expect.stringMatching(/^ConfigMap\/strand-config-\w+$/),
      'PodDisruptionBudget/strand-broker',
      'PodDisruptionBudget/strand-coordinator',
      'Service/strand',
      'Service/strand-broker',
      'Service/strand-coordinator',
      'Service/strand-kv',
      'StatefulSet/strand-broker',
      'StatefulSet/strand-coordinator',
    ]);
    expect(await schemaProblems([...base, ...tls])).toEqual([]);
  }, 180_000); // a TypeScript program over the models' declarations: slow on a loaded machine

  it('the check names an unknown field, a wrong type and a missing required field', async () => {
    type Sts = Manifest & {
      spec: { template: { spec: { containers: Record<string, unknown>[] } } };
    };
    const sts = () => structuredClone(base.find((m) => m.kind === 'StatefulSet')!) as Sts;
    const typo = sts();
    const c = typo.spec.template.spec.containers[0]!;
    c.readinesProbe = c.readinessProbe;
    const wrongType = sts();
    wrongType.spec.template.spec.containers[0]!.ports = [{ containerPort: 'admin' }];
    const svc = structuredClone(base.find((m) => m.kind === 'Service')!) as Manifest & {
      spec: { ports: Record<string, unknown>[] };
    };
    delete svc.spec.ports[0]!.port;
    const problems = (await schemaProblems([typo, wrongType, svc])).join('\n');
    expect(problems).toMatch(/'readinesProbe' does not exist in type 'IContainer'/);
    expect(problems).toMatch(/containerPort must be integer/);
    expect(problems).toMatch(/must have required property port/);
  }, 180_000);
});

const stsOf = (ms: Manifest[], name: string) =>
  ms.find((m) => m.kind === 'StatefulSet' && m.metadata.name === name) as StatefulSet;
type Svc = Manifest & {
  spec: {
    clusterIP?: string;
    publishNotReadyAddresses?: boolean;
    selector: Record<string, string>;
    ports: { name: string; port: number; targetPort?: string | number }[];
  };
};
const svcOf = (ms: Manifest[], name: string) =>
  ms.find((m) => m.kind === 'Service' && m.metadata.name === name) as Svc;
const portOf = (c: Container, name: string) => c.ports?.find((p) => p.name === name)?.containerPort;
const portIn = (address: string) => Number(address.slice(address.lastIndexOf(':') + 1));
const pods = (ms: Manifest[], name: string) => {
  const sts = stsOf(ms, name);
  return Array.from({ length: sts.spec.replicas }, (_, i) => startPod(sts, i, ms));
};
const coordinatorOf = (p: Pod) => {
  if (p.parsed.app !== 'strand-coordinator') throw new Error(`${p.name} runs ${p.parsed.app}`);
  return p.parsed.config;
};
const brokerOf = (p: Pod) => {
  if (p.parsed.app !== 'strand-broker') throw new Error(`${p.name} runs ${p.parsed.app}`);
  return p.parsed.config;
};

describe.each([
  ['base', base],
  ['tls', tls],
])('the %s manifests make a working cluster', (_overlay, ms) => {
  const coordinators = pods(ms, 'strand-coordinator');
  const brokers = pods(ms, 'strand-broker');
  const coordinatorSts = stsOf(ms, 'strand-coordinator');
  const brokerSts = stsOf(ms, 'strand-broker');

  it('each StatefulSet has a headless service of per-pod names, a volume per pod and a PDB that keeps a quorum', () => {
    for (const sts of [coordinatorSts, brokerSts]) {
      const labels = sts.spec.template.metadata.labels;
      expect(labels).toMatchObject(sts.spec.selector.matchLabels);
      const headless = svcOf(ms, sts.spec.serviceName);
      expect(headless.spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true });
      expect(labels).toMatchObject(headless.spec.selector);
      const pdb = ms.find(
        (m) => m.kind === 'PodDisruptionBudget' && m.metadata.name === sts.metadata.name,
      ) as
        | (Manifest & {
            spec: { maxUnavailable: number; selector: { matchLabels: Record<string, string> } };
          })
        | undefined;
      expect(pdb?.spec.maxUnavailable).toBe(1);
      expect(labels).toMatchObject(pdb!.spec.selector.matchLabels);
      const claim = sts.spec.volumeClaimTemplates?.[0]?.metadata.name;
      expect(sts.spec.template.spec.containers[0]!.volumeMounts).toContainEqual({
        name: claim,
        mountPath: '/var/lib/strand',
      });
      expect(sts.spec.template.spec.securityContext).toMatchObject({
        runAsNonRoot: true,
        runAsUser: 1000,
      });
    }
    const voters = coordinatorSts.spec.replicas;
    expect(voters - 1).toBeGreaterThanOrEqual(Math.floor(voters / 2) + 1);
  });

  it('every coordinator pod is its ordinal + 1, lists every pod as a peer by its stable name, and keeps its data on its volume', () => {
    const headless = svcOf(ms, coordinatorSts.spec.serviceName);
    expect(coordinators.map((p) => coordinatorOf(p).id)).toEqual([1, 2, 3]);
    for (const p of coordinators) {
      const c = coordinatorOf(p);
      const client = portOf(p.container, 'client');
      expect(Object.keys(c.peers)).toHaveLength(coordinators.length);
      for (const q of coordinators)
        expect(c.peers[String(q.ordinal + 1)]).toBe(
          `${q.name}.${headless.metadata.name}:${client}`,
        );
      expect(portIn(c.listen)).toBe(client);
      expect(portIn(c.peerListen!)).toBe(portOf(p.container, 'raft'));
      for (const port of ['client', 'raft'])
        expect(headless.spec.ports.map((s) => s.port)).toContain(portOf(p.container, port));
      expect(c.dataDir.startsWith(`${p.mounts.get('data')}/`)).toBe(true);
      expect(portIn(c.adminListen!)).toBe(portOf(p.container, 'admin'));
    }
    expect(svcOf(ms, 'strand-kv').spec.selector).toEqual(headless.spec.selector);
  });

  it('every broker pod advertises its own stable name, dials the coordinators at their pods and stops within its grace period', () => {
    const headless = svcOf(ms, brokerSts.spec.serviceName);
    const peers = Object.values(coordinatorOf(coordinators[0]!).peers).sort();
    expect(brokers.map((p) => brokerOf(p).id)).toEqual([1, 2, 3]);
    for (const p of brokers) {
      const b = brokerOf(p);
      const dns = `${p.name}.${headless.metadata.name}.${NAMESPACE}.svc`;
      expect(b.advertise).toBe(`${dns}:${portOf(p.container, 'client')}`);
      expect(b.kafkaAdvertise).toBe(`${dns}:${portOf(p.container, 'kafka')}`);
      expect(portIn(b.listen)).toBe(portOf(p.container, 'client'));
      expect(portIn(b.kafkaListen!)).toBe(portOf(p.container, 'kafka'));
      expect([...b.coordinators].sort()).toEqual(peers);
      expect(b.dataDir.startsWith(`${p.mounts.get('data')}/`)).toBe(true);
      expect(portIn(b.adminListen!)).toBe(portOf(p.container, 'admin'));
      // SIGTERM: the controlled shutdown, then the process's own stop, before Kubernetes kills it.
      const grace = brokerSts.spec.template.spec.terminationGracePeriodSeconds! * 1000;
      expect(grace).toBeGreaterThanOrEqual(b.controlledShutdownTimeoutMs + 10_000);
    }
    const client = svcOf(ms, 'strand');
    expect(client.spec.selector).toEqual(headless.spec.selector);
    expect(client.spec.ports.map((s) => s.targetPort).sort()).toEqual(['client', 'kafka']);
  });

  it('probes: readiness on /readyz, liveness on /healthz, at the admin port, over HTTPS when TLS is on', () => {
    for (const p of [...coordinators, ...brokers]) {
      const tlsOn = p.parsed.config.tlsCert !== undefined;
      const scheme = tlsOn ? { scheme: 'HTTPS' } : {};
      expect(p.container.readinessProbe?.httpGet).toEqual({
        path: '/readyz',
        port: 'admin',
        ...scheme,
      });
      expect(p.container.livenessProbe?.httpGet).toEqual({
        path: '/healthz',
        port: 'admin',
        ...scheme,
      });
    }
  });
});

it('the TLS overlay gives every node its certificate, key and CA from the Secret, and the base none', () => {
  for (const p of [...pods(base, 'strand-coordinator'), ...pods(base, 'strand-broker')])
    expect(p.parsed.config.tlsCert).toBeUndefined();
  for (const name of ['strand-coordinator', 'strand-broker']) {
    const sts = stsOf(tls, name);
    const secret = sts.spec.template.spec.volumes?.find((v) => v.secret);
    expect(secret?.secret?.secretName).toBe('strand-tls');
    for (const p of pods(tls, name)) {
      const at = p.mounts.get(secret!.name);
      const c = p.parsed.config;
      expect([c.tlsCert, c.tlsKey, c.tlsCa]).toEqual([
        `${at}/tls.crt`,
        `${at}/tls.key`,
        `${at}/ca.crt`,
      ]);
    }
  }
});
