import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, repoPath } from './repo.js';

/** What the Dockerfile's final stage sets for the container it runs. */
export interface Image {
  /** The base image of every stage. */
  bases: string[];
  env: Record<string, string>;
  user: string;
  workdir: string;
  volume: string;
  entrypoint: string[];
  cmd: string[];
  healthcheck: string[];
  /** The commands on PATH it links (name → the file in the image). */
  links: Record<string, string>;
  commands: string[];
  /** Each stage's RUN commands, by stage name (`FROM ... AS name`). */
  runs: Record<string, string[]>;
}

/** The Dockerfile's instructions, one per entry, with continued lines joined. */
function instructions(text: string): { op: string; arg: string }[] {
  const joined = text
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n')
    .replace(/\\\n/g, ' ');
  return joined
    .split('\n')
    .filter((l) => l.trim().length > 0)
    .map((l) => {
      const m = /^\s*(\w+)\s+(.*)$/.exec(l);
      if (!m) throw new Error(`Dockerfile: cannot read "${l}"`);
      return { op: m[1]!.toUpperCase(), arg: m[2]!.trim() };
    });
}

const execForm = (arg: string): string[] => {
  const list = JSON.parse(arg) as unknown;
  if (!Array.isArray(list) || !list.every((w) => typeof w === 'string'))
    throw new Error(
      `Dockerfile: "${arg}" is not an exec-form list (signals must reach the process)`,
    );
  return list;
};

export function dockerfile(path = 'Dockerfile'): Image {
  const all = instructions(readFileSync(repoPath(path), 'utf8'));
  const bases = all.filter((i) => i.op === 'FROM').map((i) => i.arg.split(/\s+/)[0]!);
  const last = all.map((i) => i.op).lastIndexOf('FROM');
  const image: Image = {
    bases,
    env: {},
    user: 'root',
    workdir: '/',
    volume: '',
    entrypoint: [],
    cmd: [],
    healthcheck: [],
    links: {},
    commands: [],
    runs: {},
  };
  let stage = '';
  for (const { op, arg } of all) {
    if (op === 'FROM') stage = /\bAS\s+(\S+)/i.exec(arg)?.[1] ?? '';
    else if (op === 'RUN') image.runs[stage] = [...(image.runs[stage] ?? []), arg];
  }
  for (const { op, arg } of all.slice(last + 1)) {
    if (op === 'ENV')
      for (const m of arg.matchAll(/(\w+)=("[^"]*"|\S+)/g))
        image.env[m[1]!] = m[2]!.replace(/^"|"$/g, '');
    else if (op === 'USER') image.user = arg;
    else if (op === 'WORKDIR') image.workdir = arg;
    else if (op === 'VOLUME') image.volume = arg;
    else if (op === 'ENTRYPOINT') image.entrypoint = execForm(arg);
    else if (op === 'CMD') image.cmd = execForm(arg);
    else if (op === 'HEALTHCHECK') image.healthcheck = execForm(arg.slice(arg.indexOf('CMD ') + 4));
    else if (op === 'RUN')
      for (const m of arg.matchAll(/ln -s (\S+) \/usr\/local\/bin\/(\S+)/g))
        image.links[m[2]!] = m[1]!;
  }
  image.commands = Object.keys(image.links);
  return image;
}

/** A path in the image, in `tree` (the image's WORKDIR: the repository, built and pruned). */
export function inTree(image: Image, path: string, tree = REPO): string {
  if (!path.startsWith(`${image.workdir}/`))
    throw new Error(`${path} is not under ${image.workdir}`);
  return join(tree, path.slice(image.workdir.length + 1));
}
