import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * `pnpm bench` runs every `*.bench.js` module next to this file (or those whose name contains
 * one of the command-line arguments). Each module's default export is an async function that
 * prints its own figures; nothing here asserts a number.
 */
export type Bench = () => Promise<void>;

async function main(): Promise<void> {
  const here = dirname(fileURLToPath(import.meta.url));
  const filters = process.argv.slice(2);
  const files = readdirSync(here)
    .filter((f) => f.endsWith('.bench.js'))
    .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
    .sort();
  for (const file of files) {
    console.log(`\n=== ${file.replace(/\.bench\.js$/, '')} ===`);
    const mod = (await import(join(here, file))) as { default: Bench };
    await mod.default();
  }
}

await main();
