import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseCommand } from './commands.js';
import { dockerfile } from './dockerfile.js';
import { repoPath } from './repo.js';

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  hostname?: string;
  command: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  stop_grace_period?: string;
  depends_on?: string[];
}
const compose = parse(readFileSync(repoPath('deploy/compose.yaml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};
const image = dockerfile();
const services = Object.entries(compose.services);
// Each service's command as its app reads it, with the image's environment under the service's.
const parsed = services.map(([name, s]) => ({
  name,
  service: s,
  ...parseCommand(s.command, { ...image.env, ...s.environment }),
}));
const coordinators = parsed.filter((p) => p.app === 'strand-coordinator');
const brokers = parsed.filter((p) => p.app === 'strand-broker');
const portIn = (address: string) => Number(address.slice(address.lastIndexOf(':') + 1));
const hostIn = (address: string) => address.slice(0, address.lastIndexOf(':'));

describe('deploy/compose.yaml', () => {
  it('runs 3 coordinators and 3 brokers of the image the Dockerfile builds', () => {
    expect([coordinators.length, brokers.length]).toEqual([3, 3]);
    for (const { service } of parsed) {
      expect(service.build).toEqual({ context: '..', dockerfile: 'Dockerfile' });
      expect(image.commands).toContain(service.command[0]);
    }
  });

  it('every coordinator lists every coordinator service as a peer, at the port it listens on', () => {
    const ids = coordinators.map((c) => (c.app === 'strand-coordinator' ? c.config.id : 0));
    expect(new Set(ids).size).toBe(3);
    for (const c of coordinators) {
      if (c.app !== 'strand-coordinator') continue;
      expect(Object.keys(c.config.peers)).toHaveLength(3);
      for (const other of coordinators) {
        if (other.app !== 'strand-coordinator') continue;
        const address = c.config.peers[String(other.config.id)]!;
        expect(hostIn(address)).toBe(other.name);
        expect(other.service.hostname).toBe(other.name);
        expect(portIn(address)).toBe(portIn(other.config.listen));
      }
    }
  });

  it('every broker advertises its service name and dials every coordinator service', () => {
    const coordinatorAddresses = coordinators
      .map((c) => (c.app === 'strand-coordinator' ? `${c.name}:${portIn(c.config.listen)}` : ''))
      .sort();
    const ids = new Set<number>();
    for (const b of brokers) {
      if (b.app !== 'strand-broker') continue;
      ids.add(b.config.id);
      expect(hostIn(b.config.advertise)).toBe(b.name);
      expect(portIn(b.config.advertise)).toBe(portIn(b.config.listen));
      expect(hostIn(b.config.kafkaAdvertise)).toBe(b.name);
      expect([...b.config.coordinators].sort()).toEqual(coordinatorAddresses);
      expect(b.service.depends_on?.sort()).toEqual(coordinators.map((c) => c.name).sort());
      // docker stop sends SIGTERM, then SIGKILL after the grace period.
      const grace = Number(/^(\d+)s$/.exec(b.service.stop_grace_period ?? '')?.[1]) * 1000;
      expect(grace).toBeGreaterThanOrEqual(b.config.controlledShutdownTimeoutMs + 10_000);
    }
    expect(ids.size).toBe(3);
  });

  it("keeps every node's data on a named volume of its own, and the healthcheck finds the admin port", () => {
    const volumes = new Set<string>();
    for (const p of parsed) {
      const [volume, at] = (p.service.volumes ?? [])[0]!.split(':');
      expect(Object.keys(compose.volumes)).toContain(volume);
      volumes.add(volume!);
      expect(p.config.dataDir.startsWith(`${at}/`)).toBe(true);
      expect(at).toBe(image.volume);
      expect(p.config.adminListen).toBe(image.env.STRAND_ADMIN_LISTEN);
    }
    expect(volumes.size).toBe(parsed.length);
  });

  it('a renamed or misspelt flag fails the check', () => {
    const command = [...compose.services['broker-1']!.command];
    command[command.findIndex((w) => w.startsWith('--advertise='))] = '--advertised=broker-1:9092';
    expect(() => parseCommand(command, image.env)).toThrow(/advertised/);
  });
});
