// A headless Chromium for tests that look at the Temporal Web UI as an operator would.
// playwright-core brings no browser of its own: it drives the distribution's `chromium`
// (scripts/install.sh installs it), found on PATH.
import { execFileSync } from 'node:child_process';
import { chromium, type Browser } from 'playwright-core';

export function chromiumPath(): string {
  try {
    return execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('no chromium on PATH: run scripts/install.sh (or npm test) first');
  }
}

export async function launchChromium(): Promise<Browser> {
  // Chromium's sandbox refuses to run as root, which is how the local stack runs.
  return chromium.launch({ executablePath: chromiumPath(), headless: true, args: process.getuid?.() === 0 ? ['--no-sandbox'] : [] });
}

/**
 * Makes the Temporal UI in this browser decode payloads with the codec server at `endpoint`,
 * as "Use my browser setting" with "Include cross-origin credentials" would: the UI keeps
 * those settings in local storage, JSON-encoded, under these keys.
 */
export function codecSettingsScript(endpoint: string): string {
  const settings = { endpoint, includeCredentials: true, overrideRemoteCodecConfiguration: true };
  return Object.entries(settings)
    .map(([key, value]) => `localStorage.setItem(${JSON.stringify(key)}, ${JSON.stringify(JSON.stringify(value))});`)
    .join('\n');
}
