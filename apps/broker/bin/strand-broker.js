#!/usr/bin/env -S node --initial-old-space-size=128
// The `strand-broker` command. This file is in the repository (not built), so installing links it
// even before the first build; it runs the compiled program.
const main = new URL('../dist/main.js', import.meta.url);
import(main.href).catch((err) => {
  if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes(main.pathname)) {
    process.stderr.write(
      'strand-broker: not built yet: run `pnpm build` (or `pnpm dev`) in the repository\n',
    );
    process.exit(1);
  }
  throw err;
});
