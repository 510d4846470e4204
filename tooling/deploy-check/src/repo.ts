import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

/** The repository's root, where the Dockerfile and deploy/ are. */
export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
export const repoPath = (path: string) => `${REPO}${path}`;

/** A Kubernetes object as rendered: only what the checks read is typed. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; [k: string]: unknown };
  [k: string]: unknown;
}

export function parseYamlDocuments(text: string): unknown[] {
  return parseAllDocuments(text).map((doc) => {
    if (doc.errors.length > 0) throw new Error(doc.errors.map((e) => e.message).join('; '));
    return doc.toJS();
  });
}

/**
 * Renders a kustomization with `kubectl kustomize` (offline: it reads only the files). Needs
 * kubectl 1.21 or later (kustomize v4+), as on the CI machine.
 */
export function kustomize(dir: string): Manifest[] {
  let out: string;
  try {
    out = execFileSync('kubectl', ['kustomize', repoPath(dir)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    const e = err as { code?: string; stderr?: string };
    if (e.code === 'ENOENT')
      throw new Error(
        'kubectl is not installed: the manifests are rendered with `kubectl kustomize`',
      );
    throw new Error(`kubectl kustomize ${dir}: ${e.stderr ?? String(err)}`);
  }
  return parseYamlDocuments(out).filter((d): d is Manifest => d !== null);
}
