/**
 * Headless Chromium for the web view suites: Debian's `chromium` package, driven by
 * playwright-core (which downloads no browser of its own). A missing binary fails the suite
 * with what to install; it never skips.
 */
import { existsSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";

export const CHROMIUM_PATH = "/usr/bin/chromium";

/**
 * Flags for a closed network: without the background-networking ones Chromium keeps dialling
 * Google services, and the sandbox needs privileges CI containers do not have.
 */
export const CHROMIUM_ARGS: readonly string[] = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`headless Chromium is needed at ${CHROMIUM_PATH} for the web view tests: install Debian's 'chromium' package (apt-get install chromium)`);
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: [...CHROMIUM_ARGS] });
}
