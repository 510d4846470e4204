import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expandKubernetes, type Parsed, parseCommand, shellArgv } from './commands.js';
import type { Manifest } from './repo.js';

/** The parts of a StatefulSet the checks read (the schema check has vouched for the rest). */
export interface Container {
  name: string;
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  ports?: { name: string; containerPort: number }[];
  readinessProbe?: { httpGet: { path: string; port: string | number; scheme?: string } };
  livenessProbe?: { httpGet: { path: string; port: string | number; scheme?: string } };
  volumeMounts?: { name: string; mountPath: string }[];
}
export interface StatefulSet extends Manifest {
  spec: {
    serviceName: string;
    replicas: number;
    selector: { matchLabels: Record<string, string> };
    volumeClaimTemplates?: { metadata: { name: string } }[];
    template: {
      metadata: { labels: Record<string, string> };
      spec: {
        terminationGracePeriodSeconds?: number;
        securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
        containers: Container[];
        volumes?: { name: string; configMap?: { name: string }; secret?: { secretName: string } }[];
      };
    };
  };
}

export const NAMESPACE = 'strand-test';

/** One pod of a StatefulSet as its container would start: the app's parsed config. */
export interface Pod {
  name: string;
  ordinal: number;
  container: Container;
  argv: string[];
  parsed: Parsed;
  /** Where each volume is mounted (by volume name). */
  mounts: Map<string, string>;
}

function podEnv(c: Container, pod: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) {
    const field = e.valueFrom?.fieldRef?.fieldPath;
    const value =
      e.value ??
      (field === 'metadata.name' ? pod : field === 'metadata.namespace' ? NAMESPACE : undefined);
    if (value === undefined)
      throw new Error(`${c.name}: env ${e.name} is set in a way not checked here`);
    env[e.name] = value;
  }
  return env;
}

/**
 * Starts pod `ordinal` of `sts` as far as its app's config parser: Kubernetes' expansion of
 * its args, then the shell, then the app's own parser, with the ConfigMaps it mounts written
 * to a temporary folder standing in for their mount paths (other paths are left as given).
 */
export function startPod(sts: StatefulSet, ordinal: number, all: Manifest[]): Pod {
  const name = `${sts.metadata.name}-${ordinal}`;
  const spec = sts.spec.template.spec;
  const container = spec.containers[0]!;
  const env = podEnv(container, name);
  const words = [...(container.command ?? []), ...(container.args ?? [])].map((w) =>
    expandKubernetes(w, env),
  );
  const argv = words[0] === 'sh' && words[1] === '-c' ? shellArgv(words[2]!, env) : words;
  const mounts = new Map((container.volumeMounts ?? []).map((m) => [m.name, m.mountPath]));
  const dir = mkdtempSync(join(tmpdir(), 'strand-pod-'));
  try {
    const local = (text: string) => {
      for (const v of spec.volumes ?? []) {
        const at = v.configMap && mounts.get(v.name);
        if (at && text.startsWith(`${at}/`)) return join(dir, v.name, text.slice(at.length));
      }
      return text;
    };
    for (const v of spec.volumes ?? []) {
      if (!v.configMap) continue;
      const cm = all.find((m) => m.kind === 'ConfigMap' && m.metadata.name === v.configMap!.name) as
        | (Manifest & { data: Record<string, string> })
        | undefined;
      if (!cm)
        throw new Error(`${name}: mounts ConfigMap ${v.configMap.name}, which is not rendered`);
      mkdirSync(join(dir, v.name), { recursive: true });
      for (const [file, text] of Object.entries(cm.data))
        writeFileSync(join(dir, v.name, file), text);
    }
    const strandEnv = Object.fromEntries(
      Object.entries(env)
        .filter(([k]) => k.startsWith('STRAND_'))
        .map(([k, v]) => [k, local(v)]),
    );
    const parsed = parseCommand(argv.map(local), strandEnv);
    return { name, ordinal, container, argv, parsed, mounts };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
