// A deployment with a secret: the application inside the container reads it (from a file
// only its user can read), and the value appears nowhere else: not in the workflow
// histories, not in the worker's and bridge's logs, not in any status event, not in
// `docker inspect` of the container. Histories are encrypted, so they are searched both as
// stored and decrypted.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { containersOf, httpGet, removeApplication, startDeployer, type TestDeployer } from '../support/deployer';
import { captureOutput } from '../support/captured-output';
import { historyText } from '../support/history';

jest.setTimeout(180_000);

const stamp = Date.now().toString(36);
const app = `it-secret-${stamp}`;
const port = 18700;
const secret = `s3cret-${randomBytes(16).toString('hex')}`;
const ref = `it/${stamp}/token`;
let logs: string[] = [];
let d: TestDeployer;

beforeAll(async () => {
  // Everything this process writes is the worker's and the bridge's logs: searched for the secret below.
  logs = captureOutput();
  d = await startDeployer('secret', { bridgeLogLevel: 'info' });
  const file = join(d.config.secretsPath, ref);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, secret, { mode: 0o600 });
});

afterAll(async () => {
  jest.restoreAllMocks();
  if (d) {
    await removeApplication(d, app);
    await d.stop();
  }
});


describe('a deployment with a secret', () => {
  it('delivers the value to the container only', async () => {
    const node = d.inventory.nodes[0]!;
    await d.send({
      kind: 'Deploy',
      deploymentId: `${app}-1`,
      application: { name: app, version: '1', image: `${d.inventory.registry.pull}/busybox:1` },
      nodes: [node.id],
      container: {
        command: ['sh', '-c', `mkdir -p /www && sha256sum "$APP_TOKEN_FILE" | cut -d' ' -f1 > /www/hash && stat -c %a "$APP_TOKEN_FILE" > /www/mode && trap 'exit 0' TERM; httpd -f -p ${port} -h /www & wait`],
        secrets: [{ name: 'APP_TOKEN', ref }],
      },
      healthCheck: { http: { port, path: '/hash' }, intervalMs: 200 },
    });
    const events = await d.terminal(`${app}-1`);
    expect(events.at(-1)!.phase).toBe('Succeeded');

    // The application read it, from a file only its user can read.
    expect(await httpGet(`http://${node.address}:${port}/hash`)).toEqual({ status: 200, body: `${createHash('sha256').update(secret).digest('hex')}\n` });
    expect(await httpGet(`http://${node.address}:${port}/mode`)).toEqual({ status: 200, body: '400\n' });

    const [container] = (await containersOf(d, app))[node.id]!;
    const inspect = JSON.stringify(await d.engines.node(node.id).getContainer(container!.name).inspect());
    const exported = await Promise.all([`${app}-1`, `${app}-1/${node.id}`].map((id) => historyText(d, id)));
    const histories = exported.map((h) => `${h.stored}\n${h.decrypted}`).join('\n');
    expect(histories).toContain(ref); // the reference travels; it is what the search below must not confuse with the value
    // Encrypted: as stored, the history does not even show the request (the reference is part of it).
    expect(exported.map((h) => h.stored).join('\n')).not.toContain(ref);
    // The logs were captured (they name the deployment), so finding nothing in them means something.
    expect(logs.join('')).toContain(`${app}-1`);
    const hits = {
      history: histories.includes(secret),
      logs: logs.join('').includes(secret),
      events: JSON.stringify(d.events).includes(secret),
      inspect: inspect.includes(secret),
    };
    expect(hits).toEqual({ history: false, logs: false, events: false, inspect: false });
  });

  it('fails the deployment, naming the reference and not retrying, when the secret does not exist', async () => {
    await d.send({
      kind: 'Deploy',
      deploymentId: `${app}-2`,
      application: { name: app, version: '2', image: `${d.inventory.registry.pull}/busybox:1` },
      nodes: [d.inventory.nodes[0]!.id],
      container: { command: ['sleep', '60'], secrets: [{ name: 'APP_TOKEN', ref: `it/${stamp}/missing` }] },
    });
    const events = await d.terminal(`${app}-2`);
    expect(events.at(-1)).toMatchObject({ phase: 'RolledBack', message: expect.stringContaining(`secret 'it/${stamp}/missing' not found`) });
  });
});
