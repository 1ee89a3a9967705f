// What a build may read of the build host and fetch from elsewhere, on the real stack. A
// request named a directory; any one the worker could read was packed and pushed to the
// registry (the stack's state holds the payload keys, the TLS and Kubernetes keys and the
// secrets), through a symbolic link too, and a file named as the Dockerfile had its first
// word quoted in the Failed event. A git source was any URL the build host's engine would
// fetch, and a URL's credentials were shown in the Building event. Now a context lies in a
// build root once its links are resolved, a git URL under a configured prefix without
// credentials, and no error quotes a file.
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pushTag } from '../../src/core/plan';
import { deployRequestSchema, type DeployRequest } from '../../src/core/schemas/request';
import { createOperations } from '../../src/operations/start';
import { captureOutput } from '../support/captured-output';
import { removeApplication, startDeployer, TEST_BUILD_ROOT, TEST_BUILD_ROOTS, type TestDeployer } from '../support/deployer';
import { historyText } from '../support/history';

jest.setTimeout(180_000);

const stamp = Date.now().toString(36);
const app = `it-sources-${stamp}`;
const port = 18440;
const prefix = 'https://git.example.org/deployer/';
const secret = `s3cret-${randomBytes(16).toString('hex')}`;
const token = `ghp_${randomBytes(16).toString('hex')}`;
const hello = resolve(__dirname, '../../examples/hello');
let logs: string[] = [];
let d: TestDeployer;
/** Outside every build root: a copy of the example app, and a secret beside it. */
let outside: string;
/** Inside a build root. */
let inside: string;

beforeAll(async () => {
  // Everything this process writes is the worker's and the bridge's logs: searched below.
  logs = captureOutput();
  d = await startDeployer('build-sources', { bridgeLogLevel: 'info', settings: { DEPLOYER_GIT_PREFIXES: prefix } });
  outside = mkdtempSync(join(tmpdir(), 'deployer-outside-'));
  cpSync(hello, join(outside, 'app'), { recursive: true });
  writeFileSync(join(outside, 'secret.txt'), `${secret}\n`);
  inside = mkdtempSync(join(TEST_BUILD_ROOT, 'sources-'));
});

afterAll(async () => {
  jest.restoreAllMocks();
  for (const dir of [outside, inside]) if (dir) rmSync(dir, { recursive: true, force: true });
  if (d) {
    await removeApplication(d, app);
    await d.stop();
  }
});

/** A Deploy of the app from `source`: were it built, it would run and pass its health check on the first node. */
const deploy = (n: number, source: Record<string, unknown>) => ({
  kind: 'Deploy',
  deploymentId: `${app}-${n}`,
  application: { name: app, version: `${n}`, source },
  nodes: [d.inventory.nodes[0]!.id],
  container: { command: ['httpd', '-f', '-p', String(port), '-h', '/www'] },
  healthCheck: { http: { port, path: '/' }, intervalMs: 200 },
});

/** Whether the build host holds the image the deployment would have built: refused, it built nothing. */
async function built(n: number): Promise<boolean> {
  try {
    await d.engines.buildHost().getImage(pushTag(d.inventory.registry.push, app, `${n}`)).inspect();
    return true;
  } catch {
    return false;
  }
}

/** Where a value is found, in any letter case (the engine's parser quoted a word in capitals): events, records, dead letters' reasons, logs, and the histories as stored and decrypted. */
async function foundIn(value: string, workflowIds: string[]): Promise<Record<string, boolean>> {
  const has = (text: string) => text.toLowerCase().includes(value.toLowerCase());
  const histories = await Promise.all(workflowIds.map((id) => historyText(d, id)));
  return {
    events: has(JSON.stringify(d.events)),
    records: has(JSON.stringify(d.records)),
    deadLetters: has(JSON.stringify(d.deadLetters.map((l) => [l.reason, l.issues]))),
    logs: has(logs.join('')),
    storedHistory: has(histories.map((h) => h.stored).join('\n')),
    decryptedHistory: has(histories.map((h) => h.decrypted).join('\n')),
  };
}
const nowhere = { events: false, records: false, deadLetters: false, logs: false, storedHistory: false, decryptedHistory: false };

const roots = `DEPLOYER_BUILD_ROOTS: ${TEST_BUILD_ROOTS.join(', ')}`;

describe('a directory context', () => {
  it('outside the build roots is refused, naming the setting, and nothing is built', async () => {
    const context = join(outside, 'app');
    await d.send(deploy(1, { context }));
    const events = await d.terminal(`${app}-1`);
    expect(events.at(-1)).toMatchObject({ phase: 'RolledBack', message: `rolled back: build context ${context} is outside the directories builds may read (${roots})` });
    expect(await built(1)).toBe(false);
  });

  it('that is a symbolic link inside a root to a directory outside is refused, and nothing is built', async () => {
    symlinkSync(outside, join(inside, 'elsewhere'));
    const context = join(inside, 'elsewhere', 'app');
    await d.send(deploy(2, { context }));
    const events = await d.terminal(`${app}-2`);
    expect(events.at(-1)).toMatchObject({ phase: 'RolledBack', message: `rolled back: build context ${context} leads, through a symbolic link, outside the directories builds may read (${roots})` });
    expect(await built(2)).toBe(false);
  });

  it('whose Dockerfile is a symbolic link to a file outside it is refused, and the file reaches nothing', async () => {
    const context = join(inside, 'linked-dockerfile');
    cpSync(hello, context, { recursive: true });
    symlinkSync(join(outside, 'secret.txt'), join(context, 'Dockerfile.linked'));
    await d.send(deploy(3, { context, dockerfile: 'Dockerfile.linked' }));
    const events = await d.terminal(`${app}-3`);
    expect(events.at(-1)).toMatchObject({ phase: 'RolledBack', message: `rolled back: Dockerfile.linked in build context ${context} leads, through a symbolic link, outside the context` });
    expect(await foundIn(secret, [`${app}-3`])).toEqual(nowhere);
  });

  it('with a file named as its Dockerfile that is not one: the build fails at its line, and the content appears in no event, record, log or history', async () => {
    const context = join(inside, 'token-as-dockerfile');
    mkdirSync(context);
    writeFileSync(join(context, 'token.txt'), `${secret} for the mqtt bridge\n`);
    await d.send(deploy(4, { context, dockerfile: 'token.txt' }));
    const events = await d.terminal(`${app}-4`);
    expect(events.at(-1)!.message).toContain("the Dockerfile token.txt could not be parsed at line 1 (the builder's own words are left out: they quote the file)");
    // The logs name the deployment, so finding nothing in them means something.
    expect(logs.join('')).toContain(`${app}-4`);
    expect(await foundIn(secret, [`${app}-4`])).toEqual(nowhere);
  });
});

describe('a git source', () => {
  it('outside the configured prefixes is refused by the bridge with a reason, and no deployment starts', async () => {
    await d.send(deploy(5, { context: 'https://169.254.169.254/latest/meta-data.git' }));
    const events = await d.terminal(`${app}-5`);
    const reason = `application.source.context: the git source is not under a prefix this Deployer may fetch (DEPLOYER_GIT_PREFIXES: ${prefix}); ask its operator to add the repository's`;
    expect(events).toEqual([expect.objectContaining({ phase: 'Rejected', message: reason })]);
    expect(d.deadLetters.find((l) => l.original.includes(`${app}-5`))).toMatchObject({ reason });
    await expect(d.client.workflow.getHandle(`${app}-5`).describe()).rejects.toThrow(/not found/i);
  });

  it('with credentials is refused by the bridge, and the credentials appear in no event, record, dead letter reason or log', async () => {
    await d.send(deploy(6, { context: `https://deployer:${token}@git.example.org/deployer/app.git` }));
    const events = await d.terminal(`${app}-6`);
    expect(events).toEqual([expect.objectContaining({ phase: 'Rejected', message: expect.stringContaining('application.source.context: a git URL must not carry credentials') })]);
    // The dead letter's `original` is the request as its sender wrote it, credentials and all: the contract returns it to the sender, so it is not searched.
    expect(await foundIn(token, [])).toEqual(nowhere);
  });

  it('under a prefix reaches the build host, whose engine tries to clone it', async () => {
    const context = `${prefix}app-${stamp}.git`;
    await d.send(deploy(7, { context }));
    const events = await d.terminal(`${app}-7`);
    expect(events.find((e) => e.phase === 'Building')).toMatchObject({ message: `building from ${context}` });
    expect(events.at(-1)).toMatchObject({ phase: 'RolledBack', message: expect.stringMatching(/git clone|error fetching|Could not resolve host/) });
  });

  it('of a workflow started without the bridge is refused at its first step, its credentials shown nowhere but its encrypted input', async () => {
    const { startOperation } = createOperations(d.client, d.config.temporal.taskQueue, { lockIdleMs: d.config.lockIdleMs });
    /** The reason the workflow fails with, once it has: the innermost cause's message. */
    const refusal = async (n: number, context: string) => {
      const request: DeployRequest = deployRequestSchema.parse(deploy(n, { context: 'https://git.example.org/deployer/app.git' }));
      request.application.source!.context = context;
      expect(await startOperation(request)).toBe('started');
      let e = (await d.client.workflow.getHandle(`${app}-${n}`).result().then(() => undefined, (err: unknown) => err)) as { cause?: unknown; message: string } | undefined;
      while (e?.cause !== undefined) e = e.cause as typeof e;
      return e?.message;
    };
    expect(await refusal(8, `https://deployer:${token}@git.example.org/deployer/app.git`)).toContain('application.source.context: a git URL must not carry credentials');
    expect((await d.terminal(`${app}-8`)).map((e) => e.phase)).toEqual(['Rejected']);
    expect(await foundIn(token, [`${app}-8`])).toEqual({ ...nowhere, decryptedHistory: true });

    expect(await refusal(9, 'https://169.254.169.254/latest/meta-data.git')).toBe(
      `not a request the Deployer would start: application.source.context: the git source is not under a prefix this Deployer may fetch (DEPLOYER_GIT_PREFIXES: ${prefix}); ask its operator to add the repository's`,
    );
  });
});
