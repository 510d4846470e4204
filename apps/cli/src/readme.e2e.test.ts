import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ProcessRegistry, tempDir } from '@strand/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, type DevCluster, exec, startDev } from './cli.test-util.js';

/**
 * The README's examples, run as printed against a real `strand dev`: every command of the
 * "Try it" block with the output it promises, and the "From code" program, twice.
 */
const HERE = dirname(fileURLToPath(import.meta.url));
const README = readFileSync(join(HERE, '..', '..', '..', 'README.md'), 'utf8');
const registry = new ProcessRegistry();
const dir = tempDir('strand-readme-');
let dev: DevCluster;

/** The first fenced block of `lang` after `heading`. */
function block(heading: string, lang: string): string {
  const at = README.indexOf(heading);
  const start = README.indexOf(`\`\`\`${lang}\n`, at);
  if (at < 0 || start < 0) throw new Error(`no ${lang} block under ${heading}`);
  const body = start + lang.length + 4;
  return README.slice(body, README.indexOf('```', body));
}

interface Step {
  script: string[];
  expected: string[];
}

/**
 * Commands, each followed by the output it prints: lines `#  text` (or a bare `#` for an
 * empty line). `# text` (one space) is a comment; the alias is for people, not for sh.
 */
function steps(text: string): Step[] {
  const out: Step[] = [];
  for (const line of text.split('\n')) {
    if (line === '#' || line.startsWith('#  ')) out.at(-1)?.expected.push(line.slice(3));
    else if (line.trim() === '' || line.startsWith('# ') || line.startsWith('alias ')) continue;
    else if (out.length === 0 || out.at(-1)!.expected.length > 0)
      out.push({ script: [line], expected: [] });
    else out.at(-1)!.script.push(line);
  }
  return out;
}

const squeeze = (s: string) => s.replace(/\s+/g, ' ').trim();

/** Whether `actual` fits `expected`: `…` in a line is any text, a line `…` is any lines. */
function fits(actual: string[], expected: string[]): boolean {
  if (expected.length === 0) return actual.length === 0;
  const [e, ...rest] = expected;
  if (squeeze(e!) === '…')
    return actual.some((_, i) => fits(actual.slice(i), rest)) || fits([], rest);
  if (actual.length === 0) return false;
  const pattern = squeeze(e!)
    .split('…')
    .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${pattern}$`).test(squeeze(actual[0]!)) && fits(actual.slice(1), rest);
}

const sh = (script: string) =>
  exec('sh', ['-c', `strand() { "${process.execPath}" "${CLI}" "$@"; }\n${script}`], {
    cwd: dir.path,
    env: dev.env,
  });

beforeAll(async () => {
  dev = await startDev(registry, join(dir.path, 'data'), { name: 'strand dev' });
});

afterAll(async () => {
  await registry.stopAll();
  dir.cleanup();
});

describe('the README', () => {
  it('"Try it": every command prints what the README says, and nothing on stderr', async () => {
    const all = steps(block('## Try it', 'sh'));
    expect(all.length).toBeGreaterThan(20);
    for (const step of all) {
      const script = step.script.join('\n');
      const r = await sh(script);
      const lines = r.stdout.replace(/\n$/, '').split('\n');
      expect({ script, code: r.code, stderr: r.stderr }).toEqual({ script, code: 0, stderr: '' });
      expect(
        fits(lines, step.expected),
        `${script}\nprinted:\n${r.stdout}\nexpected:\n${step.expected.join('\n')}`,
      ).toBe(true);
    }
  });

  it('"From code" runs, and runs again (the topic is there then), and ends by itself', async () => {
    const client = import.meta.resolve('@strand/client');
    const program = join(dir.path, 'from-code.mjs');
    writeFileSync(
      program,
      block('### From code', 'ts')
        .replace("from '@strand/client'", `from '${client}'`)
        .replaceAll("'127.0.0.1:9092'", `'${dev.brokers}'`),
    );
    for (const run of [1, 2]) {
      const { stdout } = await promisify(execFile)(process.execPath, [program], {
        timeout: 60_000,
      });
      const [sent, ...read] = stdout.trim().split('\n');
      expect(sent).toMatch(/^sent to partition \d+ at offset \d+$/);
      expect(read).toHaveLength(run);
      for (const l of read) expect(l).toMatch(/^\d+ \d+ \{"total":10\}$/);
    }
  });

  it('`pnpm strand` runs the CLI from anywhere in the repository', async () => {
    const { stdout } = await promisify(execFile)(
      'npx',
      ['-y', 'pnpm@10.34.9', 'strand', '--version'],
      {
        cwd: join(HERE, '..', '..', 'broker', 'src'),
        // ~1 s alone; under a loaded CI (npx resolving pnpm beside other installs) it took > 60 s.
        timeout: 240_000,
      },
    );
    expect(stdout).toMatch(/^strand \d+\.\d+\.\d+\n/);
  });
});
