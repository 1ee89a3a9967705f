// The Temporal Web UI of the local stack, as a person who ran `npm run demo` opens it: no
// setting changed in the browser. Without signing in, a deployment's encrypted request stays
// unreadable; after the one sign-in the demo prints (the stack's codec server, its token),
// the deployment's page shows its request and result decoded, and no codec error.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../support/browser';
import { IDLE, removeApplication, startDeployer, waitFor, type TestDeployer } from '../support/deployer';

jest.setTimeout(120_000);

const ui = `http://127.0.0.1:${process.env.TEMPORAL_UI_PORT ?? 8233}`;
const app = `it-uicodec-${Date.now().toString(36)}`;
const deploymentId = `${app}-1`;
// How the UI shows a payload it could not decode: its metadata as stored, `binary/encrypted` in base64.
const ENCRYPTED = Buffer.from('binary/encrypted').toString('base64');
// A value only the decoded request holds: it is in no search attribute, summary or memo.
const marker = `decoded-${Date.now().toString(36)}`;
let d: TestDeployer;
let codec: string;
let ownCodecServer: ChildProcess | undefined;
let browser: Browser;

async function answers(url: string): Promise<boolean> {
  return fetch(url).then(
    () => true,
    () => false,
  );
}

beforeAll(async () => {
  d = await startDeployer('ui-codec');
  codec = `http://127.0.0.1:${d.config.codecServer.port}`;
  // The stack's codec server: the one scripts/services.sh started (after npm run demo), or one started here the same way.
  if (!(await answers(`${codec}/`))) {
    const token = readFileSync(join(d.config.statePath, 'codec.token'), 'utf8').trim();
    ownCodecServer = spawn(process.execPath, [resolve(__dirname, '../../dist/src/codec/server-main.js')], { env: { ...d.env, DEPLOYER_CODEC_TOKEN: token, DEPLOYER_LOG_LEVEL: 'warn' }, stdio: 'ignore' });
    await waitFor('the codec server', () => answers(`${codec}/`), 30_000);
  }
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  ownCodecServer?.kill('SIGTERM');
  if (d) {
    await removeApplication(d, app);
    await d.stop();
  }
});

/** The deployment's page, once its input has loaded: its text. */
async function deploymentPage(page: Page): Promise<string> {
  await page.goto(`${ui}/namespaces/default/workflows/${encodeURIComponent(deploymentId)}`);
  await page.getByTestId('input-and-result').waitFor({ timeout: 30_000 });
  return page.locator('body').innerText();
}

describe("the stack's Temporal UI", () => {
  it('shows a deployment decoded after the one sign-in at the codec server, and nothing decoded before it', async () => {
    await d.send({
      kind: 'Deploy',
      deploymentId,
      application: { name: app, version: '1', image: `${d.inventory.registry.pull}/busybox:1` },
      nodes: [d.inventory.nodes[0]!.id],
      container: { command: IDLE, env: { MARKER: marker } },
    });
    expect((await d.terminal(deploymentId, 60_000)).at(-1)!.phase).toBe('Succeeded');

    const context = await browser.newContext({ viewport: { width: 1600, height: 1600 } });
    const page = await context.newPage();
    // Not signed in: the codec server answers nothing, so the request stays encrypted.
    const before = await deploymentPage(page);
    await page.getByText(ENCRYPTED).first().waitFor({ timeout: 30_000 });
    expect(before).not.toContain(marker);

    await page.goto(`${codec}/`);
    await page.fill('input[name=token]', readFileSync(join(d.config.statePath, 'codec.token'), 'utf8').trim());
    await page.click('button');
    await page.getByRole('heading', { name: 'Signed in' }).waitFor();

    // Loaded again if the request does not show decoded: on a loaded machine the page's first
    // fetches (the history, then its decoding) can time out, and the page does not retry them.
    for (let attempt = 1; ; attempt++) {
      await deploymentPage(page);
      try {
        await page.getByText(marker).first().waitFor({ timeout: 20_000 });
        break;
      } catch (err) {
        if (attempt === 3) throw new Error(`not decoded after ${attempt} loads; the page's input and result:\n${await page.getByTestId('input-and-result').innerText()}`, { cause: err });
      }
    }
    await page.getByText('"status": "Succeeded"').first().waitFor({ timeout: 30_000 });
    const after = await page.locator('body').innerText();
    expect(after).not.toMatch(/codec server could not connect/i);
    expect(after).not.toContain(ENCRYPTED);
    await context.close();
  });
});
