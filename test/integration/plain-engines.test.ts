// An engine on plain TCP only where the inventory says "insecure", on the real stack. The
// stack's inventory marks its plain-TCP engines so, and a Deployer given it reaches them. A
// copy of it that leaves the mark out of one fog node's engine, and nothing else, is refused
// by every process that reads it before it does anything: the compiled worker and bridge
// exit at start and `deployer deploy --direct` exits 2, each naming the engine and where it
// is in the file, and no deployment starts.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkflowNotFoundError } from '@temporalio/client';
import { loadConfig } from '../../src/config';
import type { NodeView } from '../../src/core/node-facts';
import { loadInventory } from '../../src/inventory';
import { runCli, runCompiled } from '../support/cli';
import { BRIDGE_MAIN, removeApplication, startDeployer, WORKER_MAIN, type TestDeployer } from '../support/deployer';

jest.setTimeout(120_000);

const app = `it-plain-${Date.now().toString(36)}`;
let dir: string;
let d: TestDeployer;
let plain: { id: string; index: number; host: string; port: number };
/** The stack's inventory but for the "insecure" of one plain-TCP engine. */
let unmarked: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'plain-engines-'));
  const stack = loadInventory(loadConfig(process.env).inventoryPath);
  const index = stack.nodes.findIndex((n) => n.target.kind === 'docker-engine' && 'host' in n.target.docker && n.target.docker.insecure === true);
  const node = stack.nodes[index];
  if (node?.target.kind !== 'docker-engine' || !('host' in node.target.docker)) throw new Error('the stack\'s inventory has no fog node on plain TCP');
  const { host, port } = node.target.docker;
  plain = { id: node.id, index, host, port };
  const inventory = { ...stack, nodes: stack.nodes.map((n, i) => (i === index ? { ...n, target: { kind: 'docker-engine', docker: { host, port } } } : n)) };
  unmarked = join(dir, 'unmarked.json');
  writeFileSync(unmarked, JSON.stringify(inventory, null, 2));
  d = await startDeployer('plain-engines');
});

afterAll(async () => {
  if (d) {
    // Nothing to remove unless the unmarked engine was reached after all.
    await removeApplication(d, app);
    await d.stop();
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The refusal as the inventory's reader words it: the engine, what to write, and where. */
const refusal = () =>
  `the engine at ${plain.host}:${plain.port} would be reached over plain TCP: give "tls" (ca, cert, key), or set "insecure": true if this network is trusted (anyone who can reach it can run containers as root on the engine)\n  → at nodes[${plain.index}].target.docker`;

/** The error a process logged as it stopped (its log lines are JSON). */
const stoppedWith = (stderr: string, message: string) =>
  stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { message: string; error?: string })
    .find((l) => l.message === message)?.error;

describe('an engine on plain TCP in the inventory', () => {
  it('is reached when the inventory marks it insecure, as the stack\'s does', async () => {
    const run = await runCli(['nodes', '--json'], d.env);
    expect(run.code).toBe(0);
    const nodes = JSON.parse(run.stdout) as NodeView[];
    expect(nodes.find((n) => n.node === plain.id)).toMatchObject({ target: 'docker-engine', status: { ready: true, platform: { os: 'linux' } } });
  });

  it('is refused without the mark: a worker and a bridge do not start, naming the engine and where it is', async () => {
    const env = { ...d.env, DEPLOYER_INVENTORY: unmarked };
    const [worker, bridge] = await Promise.all([runCompiled(WORKER_MAIN, [], env, 30_000), runCompiled(BRIDGE_MAIN, [], env, 30_000)]);
    expect(worker.code).toBe(1);
    expect(stoppedWith(worker.stderr, 'worker stopped')).toContain(`the node inventory at ${unmarked} is invalid:\n✖ ${refusal()}`);
    expect(bridge.code).toBe(1);
    expect(stoppedWith(bridge.stderr, 'bridge stopped')).toContain(`the node inventory at ${unmarked} is invalid:\n✖ ${refusal()}`);
  });

  it('is refused without the mark by a direct deploy, which exits 2 and starts nothing', async () => {
    const deploymentId = `${app}-1`;
    const file = join(dir, 'deploy.json');
    writeFileSync(file, JSON.stringify({
      kind: 'Deploy',
      deploymentId,
      application: { name: app, version: '1', image: `${d.inventory.registry.pull}/busybox:1` },
      nodes: [plain.id],
      container: { command: ['sh', '-c', 'sleep 3600'] },
    }));
    const run = await runCli(['deploy', file, '--direct'], { ...d.env, DEPLOYER_INVENTORY: unmarked });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(refusal());
    await expect(d.client.workflow.getHandle(deploymentId).describe()).rejects.toThrow(WorkflowNotFoundError);
  });
});
