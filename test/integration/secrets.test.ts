// A deployment with a secret: the application inside the container reads it (from a file
// only its user can read), and the value appears nowhere else: not in the workflow
// histories, not in the worker's and bridge's logs, not in any status event, not in
// `docker inspect` of the container. Histories are encrypted, so they are searched both as
// stored and decrypted.
import { createHash, randomBytes } from 'node:crypto';
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { containersOf, httpGet, putSecret, removeApplication, startDeployer, type TestDeployer } from '../support/deployer';
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
  putSecret(d.config.secretsPath, app, ref, secret);
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
    // Looked for in the application's own scope of the store, which the message names.
    expect(events.at(-1)).toMatchObject({ phase: 'RolledBack', message: expect.stringContaining(`secret '${app}/it/${stamp}/missing' not found`) });
  });
});

describe('secrets of other applications', () => {
  const other = `it-secret-other-${stamp}`;
  const otherValue = `other-${randomBytes(16).toString('hex')}`;
  beforeAll(() => putSecret(d.config.secretsPath, other, 'db-password', otherValue));

  /** A deployment of `app` whose container serves the sha256 of the secret `ref` names. */
  const serving = (n: number, secretRef: string, hashPort: number) => ({
    kind: 'Deploy',
    deploymentId: `${app}-${n}`,
    application: { name: app, version: `${n}`, image: `${d.inventory.registry.pull}/busybox:1` },
    nodes: [d.inventory.nodes[0]!.id],
    container: {
      command: ['sh', '-c', `mkdir -p /www && sha256sum "$DB_FILE" | cut -d' ' -f1 > /www/hash && trap 'exit 0' TERM; httpd -f -p ${hashPort} -h /www & wait`],
      secrets: [{ name: 'DB', ref: secretRef }],
    },
    healthCheck: { http: { port: hashPort, path: '/hash' }, intervalMs: 200 },
  });

  it('cannot be named: a reference to another application\'s secret is looked for in the application\'s own scope, not found, and the value reaches nothing', async () => {
    await d.send(serving(3, `${other}/db-password`, port + 1));
    const events = await d.terminal(`${app}-3`);
    expect(events.at(-1)).toMatchObject({ phase: 'RolledBack', message: expect.stringContaining(`secret '${app}/${other}/db-password' not found`) });
    const history = await historyText(d, `${app}-3/${d.inventory.nodes[0]!.id}`);
    expect({ events: JSON.stringify(d.events).includes(otherValue), logs: logs.join('').includes(otherValue), history: history.decrypted.includes(otherValue) }).toEqual({ events: false, logs: false, history: false });
  });

  it('reaches an application the operator granted it to: a link in its own scope to the other\'s file', async () => {
    symlinkSync(join(d.config.secretsPath, other, 'db-password'), join(d.config.secretsPath, app, 'granted-db-password'));
    await d.send(serving(4, 'granted-db-password', port + 2));
    expect((await d.terminal(`${app}-4`)).at(-1)!.phase).toBe('Succeeded');
    expect(await httpGet(`http://${d.inventory.nodes[0]!.address}:${port + 2}/hash`)).toEqual({ status: 200, body: `${createHash('sha256').update(otherValue).digest('hex')}\n` });
  });
});
