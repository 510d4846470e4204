// `pnpm dev`'s build: compiles only the packages `strand dev` runs (@strand/cli and what it
// depends on at run time, not the test kit or the benchmarks), and only the files whose
// output is missing or older than their source. It transpiles (TypeScript's transpileModule,
// one process for every package) without type checking: `pnpm build`, `pnpm typecheck` and
// CI check the types. A fresh clone starts in a few seconds instead of a full `tsc` build.
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ENTRY = '@strand/cli';
const SKIP = /\.(test|test-util)\.ts$|\.d\.ts$/;

/** Every workspace package by name, with its folder. */
function workspace() {
  const out = new Map();
  for (const group of ['packages', 'apps', 'tooling']) {
    for (const name of readdirSync(join(ROOT, group))) {
      const dir = join(ROOT, group, name);
      try {
        const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
        out.set(pkg.name, { dir, pkg });
      } catch {
        // not a package
      }
    }
  }
  return out;
}

/** The entry and the workspace packages it needs at run time (dependencies, not devDependencies). */
function closure(all, name, seen = new Map()) {
  const p = all.get(name);
  if (!p || seen.has(name)) return seen;
  seen.set(name, p);
  for (const dep of Object.keys(p.pkg.dependencies ?? {})) closure(all, dep, seen);
  return seen;
}

function sources(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sources(path));
    else if (entry.name.endsWith('.ts') && !SKIP.test(entry.name)) out.push(path);
  }
  return out;
}

const mtime = (path) => {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -1;
  }
};

const started = Date.now();
let ts;
let written = 0;
for (const [name, { dir }] of closure(workspace(), ENTRY)) {
  const src = join(dir, 'src');
  const dist = join(dir, 'dist');
  const config = Math.max(
    mtime(join(dir, 'tsconfig.json')),
    mtime(join(dir, 'tsconfig.build.json')),
  );
  const stale = sources(src).filter((file) => {
    const out = join(dist, relative(src, file)).replace(/\.ts$/, '.js');
    const built = mtime(out);
    return built < mtime(file) || built < config;
  });
  if (stale.length === 0) continue;
  ts ??= (await import('typescript')).default;
  const parsed = ts.getParsedCommandLineOfConfigFile(
    join(dir, 'tsconfig.build.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  );
  for (const file of stale) {
    const out = join(dist, relative(src, file)).replace(/\.ts$/, '.js');
    const result = ts.transpileModule(readFileSync(file, 'utf8'), {
      // Every package is "type": "module"; transpileModule does not read package.json, so
      // the module format NodeNext would pick from it is given here.
      compilerOptions: {
        ...parsed.options,
        module: ts.ModuleKind.ES2022,
        declaration: false,
        declarationMap: false,
      },
      fileName: file,
    });
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, result.outputText);
    if (result.sourceMapText) writeFileSync(`${out}.map`, result.sourceMapText);
    written += 1;
  }
  console.log(`  ${name}: ${stale.length} file${stale.length === 1 ? '' : 's'}`);
}
if (written > 0)
  console.log(`compiled ${written} files for strand dev in ${Date.now() - started} ms`);
