import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { intFlag, type Parsed } from './args.js';

/**
 * `strand dev`: a single-node cluster in the foreground, with its data in a local folder.
 * For now that is one coordinator (the KV store); the broker joins it with topics.
 */
export async function runDev(p: Parsed, out: (line: string) => void): Promise<number> {
  const dataDir = resolve(String(p.flags.data ?? '.strand-data'));
  const port = intFlag(p.flags, 'port', 1) ?? 2379;
  mkdirSync(dataDir, { recursive: true });
  const script = fileURLToPath(import.meta.resolve('@strand/coordinator/main'));
  const address = `127.0.0.1:${port}`;
  const child = spawn(
    process.execPath,
    [script, '--id', '1', '--listen', address, '--data', resolve(dataDir, 'coordinator')],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let ready = false;
  child.stdout.on('data', (chunk: Buffer) => {
    const text = chunk.toString();
    if (!ready && /listening on/.test(text)) {
      ready = true;
      out(`Strand dev cluster is up: bootstrap ${address} (data in ${dataDir})`);
      out(`  try: strand kv put hello world --bootstrap ${address}`);
      out(`       strand kv get hello --bootstrap ${address}`);
      out(
        '  topics (produce/consume) arrive with the broker; this build runs the coordinator (KV store) only.',
      );
      out('  Ctrl-C stops it.');
    }
  });
  const stop = () => {
    if (child.exitCode === null && child.pid) process.kill(child.pid, 'SIGTERM');
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const code = await new Promise<number>((done) => child.on('exit', (c) => done(c ?? 0)));
  out('Strand dev cluster stopped.');
  return code;
}
