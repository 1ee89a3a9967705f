// A build context with what a tar cannot hold: a socket and a FIFO (a device file is the
// same case; making one needs a privilege the test should not ask for). Packing such a
// context used to end the worker's process (an `error` on a stream nobody listened to), and
// the retried build then ended the next worker too. Now they are left out, named in an event,
// and the rest builds; the worker runs in this test's own process, so a crash fails the test.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join, resolve } from 'node:path';
import { httpGet, removeApplication, startDeployer, TEST_BUILD_ROOT, type TestDeployer } from '../support/deployer';

jest.setTimeout(180_000);

const app = `it-context-${Date.now().toString(36)}`;
const port = 18095;
let d: TestDeployer;
let dir: string;
let socket: Server;

beforeAll(async () => {
  d = await startDeployer('build-context');
  dir = mkdtempSync(join(TEST_BUILD_ROOT, 'context-'));
  cpSync(resolve(__dirname, '../../examples/hello'), dir, { recursive: true });
  execFileSync('mkfifo', [join(dir, 'www', 'pipe')]);
  socket = createServer();
  await new Promise<void>((r) => socket.listen(join(dir, 'control.sock'), r));
  // What .dockerignore names is left out as the Docker CLI leaves it out.
  writeFileSync(join(dir, 'www', 'draft.txt'), 'not for the image');
  writeFileSync(join(dir, '.dockerignore'), 'www/draft.txt\n');
});

afterAll(async () => {
  await new Promise<void>((r) => socket.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
  if (d) {
    await removeApplication(d, app);
    await d.stop();
  }
});

it('builds a context holding a socket and a FIFO, leaving them out and naming them; what .dockerignore names stays out too', async () => {
  const node = d.inventory.nodes[0]!;
  await d.send({
    kind: 'Deploy',
    deploymentId: `${app}-1`,
    application: { name: app, version: '1', source: { context: dir } },
    nodes: [node.id],
    container: { command: ['httpd', '-f', '-p', String(port), '-h', '/www'] },
    healthCheck: { http: { port, path: '/' }, intervalMs: 200 },
  });
  const events = await d.terminal(`${app}-1`);
  expect(events.at(-1)!.phase).toBe('Succeeded');
  expect(events.filter((e) => e.message.startsWith('left out of the build context')).map((e) => e.message)).toEqual([
    'left out of the build context (sockets, FIFOs and devices, which an image cannot hold): control.sock, www/pipe',
  ]);
  expect(await httpGet(`http://${node.address}:${port}/`)).toMatchObject({ status: 200, body: expect.stringContaining('from the Deployer') });
  expect(await httpGet(`http://${node.address}:${port}/draft.txt`)).toMatchObject({ status: 404 });
});
