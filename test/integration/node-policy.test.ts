// The node policy on the real stack. A copy of the stack's inventory allows the first node
// the capability NET_ADMIN and bind mounts of one host directory, and nothing else beyond
// the sandbox anywhere. The allowed request runs there with exactly those options; sent to
// the second node, or asking the first for privileged mode, it is dead-lettered with the
// reason, and no engine ever hears of it. A deployment test aimed at a node's engine (it
// could create a privileged container there) is refused by the bridge and, started straight
// in Temporal past the bridge, by the workflow before it touches the node.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkflowNotFoundError } from '@temporalio/client';
import { LABELS } from '../../src/core/labels';
import { loadConfig } from '../../src/config';
import { loadInventory } from '../../src/inventory';
import { nodeAllowSchema, type Inventory } from '../../src/core/schemas/inventory';
import { deployRequestSchema } from '../../src/core/schemas/request';
import { containersOf, engineEvents, removeApplication, startDeployer, waitFor, type TestDeployer } from '../support/deployer';

jest.setTimeout(180_000);

type Node = Inventory['nodes'][number];

const stamp = Date.now().toString(36);
const apps: string[] = [];
let dir: string;
let shared: string;
let d: TestDeployer;
let allowed: Node;
let other: Node;
let busybox: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'node-policy-'));
  shared = join(dir, 'shared');
  mkdirSync(shared);
  writeFileSync(join(shared, 'greeting'), 'hello from the node\n');
  const stack = loadInventory(loadConfig(process.env).inventoryPath);
  const inventory: Inventory = {
    ...stack,
    nodes: stack.nodes.map((n, i) => (i === 0 ? { ...n, allow: nodeAllowSchema.parse({ capabilities: ['NET_ADMIN'], hostPaths: [shared] }) } : n)),
  };
  const path = join(dir, 'inventory.json');
  writeFileSync(path, JSON.stringify(inventory, null, 2));
  d = await startDeployer('node-policy', { inventoryPath: path });
  [allowed, other] = d.inventory.nodes as [Node, Node];
  busybox = `${d.inventory.registry.pull}/busybox:1`;
});

afterAll(async () => {
  if (d) {
    for (const app of apps) await removeApplication(d, app);
    await d.stop();
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A unique application name per case, so that cases and runs never meet on a node. */
function appName(what: string): string {
  const app = `it-policy-${stamp}-${what}`;
  apps.push(app);
  return app;
}

function deploy(app: string, node: Node, container: Record<string, unknown>) {
  return {
    kind: 'Deploy',
    deploymentId: `${app}-1`,
    application: { name: app, version: '1', image: busybox },
    nodes: [node.id],
    container: { command: ['sh', '-c', 'sleep 3600'], ...container },
  };
}

const netAdminAndShared = () => ({ capabilities: ['NET_ADMIN'], mounts: [{ source: shared, target: '/mnt/shared' }] });

/** The innermost cause of a workflow's failure, by its failure type (an activity's error class) and message. */
async function rootCause(result: Promise<unknown>): Promise<{ name: string; message: string } | undefined> {
  let e = (await result.then(() => undefined, (err: unknown) => err)) as { cause?: unknown; type?: string; name: string; message: string } | undefined;
  while (e?.cause !== undefined) e = e.cause as typeof e;
  return e && { name: e.type ?? e.name, message: e.message };
}

/** Waits for the dead letter of a request and its Rejected event; checks that no deployment was started for it. */
async function deadLettered(deploymentId: string): Promise<string> {
  const letter = await waitFor(`the dead letter of ${deploymentId}`, () => d.deadLetters.find((l) => l.original.includes(`"${deploymentId}"`)));
  const events = await d.terminal(deploymentId);
  expect(events.map((e) => [e.phase, e.message])).toEqual([['Rejected', letter.reason]]);
  await expect(d.client.workflow.getHandle(deploymentId).describe()).rejects.toThrow(WorkflowNotFoundError);
  return letter.reason;
}

describe('the node policy on the real fog nodes', () => {
  it('runs a container with the capability and the bind mount its node allows, read-only by default', async () => {
    const app = appName('allowed');
    await d.send(deploy(app, allowed, netAdminAndShared()));
    const events = await d.terminal(`${app}-1`);
    expect(events.at(-1)!.phase).toBe('Succeeded');

    const [container] = (await containersOf(d, app))[allowed.id]!;
    const inspect = await d.engines.node(allowed.id).getContainer(container!.name).inspect();
    // Engines report capabilities with or without the CAP_ prefix, depending on their version.
    expect(((inspect.HostConfig.CapAdd as string[] | null) ?? []).map((c) => c.replace(/^CAP_/, ''))).toEqual(['NET_ADMIN']);
    expect(inspect.HostConfig.Privileged).toBe(false);
    expect(inspect.HostConfig.Binds).toEqual([`${shared}:/mnt/shared:ro`]);
    expect(inspect.Mounts).toEqual([expect.objectContaining({ Type: 'bind', Source: shared, Destination: '/mnt/shared', RW: false })]);
  });

  it('dead-letters the same request for a node that allows neither, naming that node, and never lets it reach the node', async () => {
    const app = appName('denied');
    const since = Math.floor(Date.now() / 1000) - 1;
    await d.send(deploy(app, other, netAdminAndShared()));
    const reason = await deadLettered(`${app}-1`);
    expect(reason).toBe(
      `container.capabilities[0]: capability NET_ADMIN is not allowed on node '${other.id}' (inventory: nodes[${other.id}].allow.capabilities) (and 1 more problem)`,
    );

    expect((await containersOf(d, app))[other.id]).toEqual([]);
    const until = Math.ceil(Date.now() / 1000) + 1;
    expect(await engineEvents(d, other.id, `${LABELS.application}=${app}`, since, until)).toEqual([]);
  });

  /** A request whose deployment test asks the node's engine for a privileged container with the host's root mounted. */
  function engineTest(app: string) {
    const create = { Image: busybox, Cmd: ['sleep', '3600'], HostConfig: { Privileged: true, Binds: ['/:/host'] } };
    return {
      ...deploy(app, other, { ports: [{ container: 2375 }] }),
      verify: {
        tests: [
          {
            name: 'engine',
            http: { port: 2375, method: 'POST', path: `/containers/create?name=${app}-root`, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(create), expect: { status: 201 } },
          },
        ],
      },
    };
  }
  const engineRefusal = `port 2375 of node '${'NODE'}' is the node's Docker Engine API, not the application's: test "engine" may reach only the application's own ports`;
  const rootContainer = (app: string) => d.engines.node(other.id).getContainer(`${app}-root`).inspect().then(() => 'created', (err: { statusCode?: number }) => err.statusCode);

  it("dead-letters a deployment test aimed at the node's engine, which would create a privileged container there", async () => {
    const app = appName('engine');
    await d.send(engineTest(app));
    expect(await deadLettered(`${app}-1`)).toBe(`verify.tests[0].http.port: ${engineRefusal.replace('NODE', other.id)}`);
    expect(await rootContainer(app)).toBe(404);
    expect((await containersOf(d, app))[other.id]).toEqual([]);
  });

  it('fails the same request started in Temporal past the bridge at its first step, with the reason the bridge gives', async () => {
    const app = appName('engine-direct');
    const request = deployRequestSchema.parse(engineTest(app));
    const handle = await d.client.workflow.start('deployWorkflow', { taskQueue: d.config.temporal.taskQueue, workflowId: request.deploymentId, args: [request] });
    expect(await rootCause(handle.result())).toEqual({
      name: 'InvalidRequestError',
      message: `not a request the Deployer would start: verify.tests[0].http.port: ${engineRefusal.replace('NODE', other.id)}`,
    });
    // Refused before anything but its Rejected event, as the bridge reports it: no lock, no node touched.
    expect((await d.terminal(request.deploymentId)).map((e) => [e.phase, e.message])).toEqual([['Rejected', `not a request the Deployer would start: verify.tests[0].http.port: ${engineRefusal.replace('NODE', other.id)}`]]);
    expect(await rootContainer(app)).toBe(404);
    expect((await containersOf(d, app))[other.id]).toEqual([]);
  });

  it('fails a workflow started past the bridge with an input the request schema refuses (another container\'s network)', async () => {
    const app = appName('netns');
    const request = { ...deployRequestSchema.parse(deploy(app, other, {})), container: { ...deployRequestSchema.parse(deploy(app, other, {})).container, network: 'container:victim' } };
    const handle = await d.client.workflow.start('deployWorkflow', { taskQueue: d.config.temporal.taskQueue, workflowId: request.deploymentId, args: [request] });
    expect(await rootCause(handle.result())).toEqual({ name: 'InvalidRequestError', message: expect.stringMatching(/^not a request the Deployer would start: container\.network: /) });
    expect((await containersOf(d, app))[other.id]).toEqual([]);
  });

  it('dead-letters privileged mode on the node that allows only a capability and a host path', async () => {
    const app = appName('privileged');
    await d.send(deploy(app, allowed, { ...netAdminAndShared(), privileged: true }));
    const reason = await deadLettered(`${app}-1`);
    expect(reason).toBe(`container.privileged: privileged mode is not allowed on node '${allowed.id}' (inventory: nodes[${allowed.id}].allow.privileged)`);
    expect((await containersOf(d, app))[allowed.id]).toEqual([]);
  });
});
