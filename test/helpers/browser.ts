/**
 * Test helper: headless Chromium driven by playwright-core, using the system's browser (Debian's
 * `chromium` package; `CHROMIUM_PATH` overrides). A missing browser fails the test with how to install
 * it, never a silent skip: CI (`.ci/run`) installs it.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Launch the browser, closed in teardown. */
export async function launchChromium(t: { teardown(fn: () => unknown): void }): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH))
    throw new Error(`no Chromium at ${CHROMIUM_PATH}: install it with \`apt-get install chromium\` (or set CHROMIUM_PATH); .ci/run does this`);
  // --no-sandbox: CI runs as root in a container, where Chromium's sandbox cannot start.
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  t.teardown(() => browser.close());
  return browser;
}
