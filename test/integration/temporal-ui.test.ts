// The Temporal Web UI as an operator sees it, in a headless Chromium: a deployment is found
// by its DeployerApplication search attribute; its page shows the request, each node's
// outcome and a child workflow per node named by its node; a node's page shows each step on
// the node. Payloads and summaries are encrypted, so the browser signs in to a codec server
// first, as README "Encrypted history" tells an operator to. The pages are saved as
// test-results/temporal-ui.png (the deployment) and temporal-ui-<node>.png for a person to look at.
// An operator's Request Cancellation button, pressed mid-rollout, puts the previous version back.
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, statSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { createCodecServer } from '../../src/codec/codec-server';
import { EncryptionCodec } from '../../src/codec/encryption-codec';
import { loadPayloadKeys } from '../../src/codec/payload-keys';
import { Secret } from '../../src/config';
import { createLogger } from '../../src/log';
import { codecSettingsScript, launchChromium } from '../support/browser';
import { isTerminal } from '../../src/core/schemas/event';
import { containersOf, IDLE, removeApplication, runningOn, startDeployer, type TestDeployer } from '../support/deployer';

jest.setTimeout(120_000);

const ui = 'http://127.0.0.1:8233';
const app = `it-ui-${Date.now().toString(36)}`;
const deploymentId = `${app}-1`;
const token = randomBytes(24).toString('base64url');
const screenshot = resolve(__dirname, '../../test-results/temporal-ui.png');
let d: TestDeployer;
let codecServer: Server;
let codecUrl: string;
let browser: Browser;
let page: Page;
let nodes: string[];

beforeAll(async () => {
  d = await startDeployer('temporal-ui');
  nodes = d.inventory.nodes.slice(0, 2).map((n) => n.id);
  const codec = new EncryptionCodec(loadPayloadKeys(d.config.payloadEncryption.keysPath));
  codecServer = createCodecServer({ codec, token: new Secret(token), origins: [ui], log: createLogger('codec-server', 'warn') });
  codecServer.listen(0, '127.0.0.1');
  await once(codecServer, 'listening');
  codecUrl = `http://127.0.0.1:${(codecServer.address() as AddressInfo).port}`;
  browser = await launchChromium();
  // Tall enough for the event history's first rows below the timeline: the page scrolls inside, so a full-page shot shows only the viewport.
  const context = await browser.newContext({ viewport: { width: 1600, height: 2000 } });
  await context.addInitScript({ content: `if (location.origin === ${JSON.stringify(ui)}) {\n${codecSettingsScript(codecUrl)}\n}` });
  page = await context.newPage();
});

afterAll(async () => {
  await browser?.close();
  codecServer?.close();
  if (d) {
    await removeApplication(d, app);
    await d.stop();
  }
});

async function save(page: Page, path: string): Promise<void> {
  await page.screenshot({ path, fullPage: true });
  expect(statSync(path).size).toBeGreaterThan(0);
}

describe('a deployment in the Temporal UI', () => {
  it('is found by its application, and its page shows each node\'s child, and a node\'s page each of its steps', async () => {
    await d.send({
      kind: 'Deploy',
      deploymentId,
      application: { name: app, version: '1', image: `${d.inventory.registry.pull}/busybox:1` },
      nodes,
      container: { command: IDLE },
      strategy: { maxParallel: 2 },
    });
    const events = await d.terminal(deploymentId, 60_000);
    expect(events.at(-1)!.phase).toBe('Succeeded');

    await page.goto(`${codecUrl}/`);
    await page.fill('input[name=token]', token);
    await page.click('button');
    await page.getByRole('heading', { name: 'Signed in' }).waitFor();

    mkdirSync(resolve(screenshot, '..'), { recursive: true });
    const query = `DeployerApplication="${app}"`;
    await page.goto(`${ui}/namespaces/default/workflows?query=${encodeURIComponent(query)}`);
    const listed = page.getByRole('link', { name: deploymentId, exact: true });
    await listed.waitFor({ timeout: 30_000 });

    await listed.click();
    await page.waitForURL(new RegExp(`/workflows/${deploymentId}/`));
    // Decoded through the codec server: each node's child and the deployment's own (local)
    // activities by their summaries. Oldest first, so that the timeline's visible part holds the children.
    await page.getByRole('button', { name: 'Descending' }).click();
    for (const node of nodes) await page.getByText(`${node}: deploy ${app}:1`).first().waitFor({ timeout: 30_000 });
    await page.getByText('look the nodes up in the inventory').first().waitFor();
    await page.getByText(`${nodes.join(', ')}: retire older versions of ${app}`).first().waitFor();
    await save(page, screenshot);

    // A node's own page: every step on the node (the target's verbs), by its summary.
    // Loaded again if the steps do not show: on a loaded machine the page's first fetch of the history can time out.
    const nodePage = `${ui}/namespaces/default/workflows/${encodeURIComponent(`${deploymentId}/${nodes[0]}`)}`;
    const steps = [`apply ${app}:1`, `verify ${app}:1`].map((step) => page.getByText(`${nodes[0]}: ${step}`).first());
    for (let attempt = 1; ; attempt++) {
      await page.goto(nodePage);
      try {
        for (const step of steps) await step.waitFor({ timeout: 20_000 });
        break;
      } catch (err) {
        if (attempt === 3) throw err;
      }
    }
    await save(page, screenshot.replace('.png', `-${nodes[0]}.png`));
  });

  it('cancels a rollout when an operator presses Request Cancellation and confirms: the previous version is back on every node', async () => {
    // v1 (the test above) runs on both nodes; v2 starts its server only after a minute, so the rollout waits in verification.
    const port = 18240;
    const v2 = `${app}-2`;
    await d.send({
      kind: 'Deploy',
      deploymentId: v2,
      application: { name: app, version: '2', image: `${d.inventory.registry.pull}/busybox:1` },
      nodes,
      container: { command: ['sh', '-c', `sleep 60; trap 'exit 0' TERM; httpd -f -p ${port} -h / & wait`], restartPolicy: 'no' },
      healthCheck: { http: { port, path: '/' }, intervalMs: 200, healthyAfter: 2, deadlineMs: 60_000 },
      strategy: { maxParallel: 2 },
    });
    await runningOn(d, app, v2, nodes);

    await page.goto(`${ui}/namespaces/default/workflows/${encodeURIComponent(v2)}`);
    await page.getByRole('button', { name: 'Request Cancellation' }).click();
    const dialog = page.getByRole('dialog').filter({ hasText: 'Cancel Workflow' });
    await dialog.getByRole('button', { name: 'Confirm' }).click();

    const events = await d.terminal(v2, 60_000);
    expect(events.filter((e) => isTerminal(e.phase)).map((e) => e.phase)).toEqual(['Cancelled']);
    const containers = await containersOf(d, app);
    for (const node of nodes) expect(containers[node]!.map((c) => [c.version, c.state])).toEqual([['1', 'running']]);
    await d.client.workflow.getHandle(v2).result().catch(() => undefined);
    expect((await d.client.workflow.getHandle(v2).describe()).status.name).toBe('CANCELLED');
  });
});
