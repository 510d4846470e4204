import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import type { Manifest } from './repo.js';

/**
 * Each kind the manifests use: the module of kubernetes-models that holds its model (whose
 * validate() checks values against the Kubernetes OpenAPI schema: types, formats, enums,
 * required fields) and its interface (whose fields the strict check below holds it to).
 */
const KINDS: Record<string, { module: string; name: string }> = {
  'apps/v1 StatefulSet': { module: 'kubernetes-models/apps/v1/StatefulSet', name: 'StatefulSet' },
  'v1 Service': { module: 'kubernetes-models/v1/Service', name: 'Service' },
  'v1 ConfigMap': { module: 'kubernetes-models/v1/ConfigMap', name: 'ConfigMap' },
  'v1 Secret': { module: 'kubernetes-models/v1/Secret', name: 'Secret' },
  'policy/v1 PodDisruptionBudget': {
    module: 'kubernetes-models/policy/v1/PodDisruptionBudget',
    name: 'PodDisruptionBudget',
  },
};

const kindOf = (m: Manifest) => {
  const kind = KINDS[`${m.apiVersion} ${m.kind}`];
  if (!kind)
    throw new Error(`${m.apiVersion} ${m.kind} ${m.metadata?.name}: a kind not checked here`);
  return kind;
};

/** Problems with the values: the models' validate() (ajv over the OpenAPI schemas). */
async function valueProblems(manifests: Manifest[]): Promise<string[]> {
  const problems: string[] = [];
  for (const m of manifests) {
    const kind = kindOf(m);
    const mod = (await import(kind.module)) as Record<
      string,
      new (
        m: unknown,
      ) => { validate(): void }
    >;
    try {
      new mod[kind.name]!(m).validate();
    } catch (err) {
      problems.push(`${m.kind} ${m.metadata.name}: ${(err as Error).message}`);
    }
  }
  return problems;
}

/**
 * Problems with the fields: a field the schema does not have (a typo such as `readinesProbe`,
 * or one in the wrong place) is not an error to the models' validate(), as Kubernetes itself
 * only warns; here each manifest is type-checked as an object literal of its kind's interface,
 * so TypeScript's excess property check names every unknown field, at any depth.
 */
let previous: ts.Program | undefined;

function fieldProblems(manifests: Manifest[]): string[] {
  const lines = manifests.map((m, i) => {
    const kind = kindOf(m);
    return `import type { I${kind.name} as T${i} } from '${kind.module}';\nexport const m${i}: T${i} = ${JSON.stringify(m)};`;
  });
  // A file of this package that is never written: kubernetes-models resolves from here.
  const file = fileURLToPath(new URL('./manifests.check.ts', import.meta.url));
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const read = host.getSourceFile.bind(host);
  const source = lines.join('\n');
  host.getSourceFile = (name, lang, ...rest) =>
    name === file ? ts.createSourceFile(name, source, lang) : read(name, lang, ...rest);
  host.fileExists = (
    (exists) => (name: string) =>
      name === file || exists(name)
  )(host.fileExists);
  // The models' declarations parsed once per run: later checks reuse them.
  const program = ts.createProgram([file], options, host, previous);
  previous = program;
  return ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file?.fileName === file)
    .map((d) => {
      const line =
        d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line : 0;
      const m = manifests[Math.floor(line / 2)];
      const text = ts
        .flattenDiagnosticMessageText(d.messageText, ' ')
        .replace(/'"([^"']+)"'/g, "'$1'");
      return `${m?.kind} ${m?.metadata.name}: ${text}`;
    });
}

/** Every way the manifests differ from the Kubernetes schemas; empty when they conform. */
export async function schemaProblems(manifests: Manifest[]): Promise<string[]> {
  return [...(await valueProblems(manifests)), ...fieldProblems(manifests)];
}
