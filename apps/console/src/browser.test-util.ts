import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium } from 'playwright-core';

// What the console's browser tests share: the system's Chromium (Debian's package; `.ci/run`
// installs it), where screenshots go, and where the apps they start live.

const here = dirname(fileURLToPath(import.meta.url));
const CHROMIUM = process.env.STRAND_CHROMIUM ?? '/usr/bin/chromium';
/** Screenshots of the main pages: test artifacts, kept after the run. */
export const SHOTS = join(here, '..', 'test-artifacts');
/** The console's own entry point (built). */
export const CONSOLE_MAIN = join(here, '..', 'dist', 'main.js');
export const mainOf = (pkg: string) => fileURLToPath(import.meta.resolve(pkg));

/** Headless Chromium; fails, saying how to get it, when it is not installed. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `no Chromium at ${CHROMIUM} (apt-get install chromium, or set STRAND_CHROMIUM)`,
    );
  mkdirSync(SHOTS, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--headless=new'] });
}
