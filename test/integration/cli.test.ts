// The compiled `deployer` CLI (dist/, as operators run it) as a child process against the real
// stack and a test Deployer: deploy and wait, status (once and followed), list, history from
// the deployment records, nodes from the engines, rollback, cancel and decide for paused
// deployments, retry of a rolled-back one, a direct start without Kafka, and the exit codes.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NodeView } from '../../src/core/node-facts';
import { isTerminal } from '../../src/core/schemas/event';
import { CLI, runCli } from '../support/cli';
import { containersOf, freePort, IDLE, removeApplication, startDeployer, waitFor, type TestDeployer } from '../support/deployer';

jest.setTimeout(240_000);

const app = `it-cli-${Date.now().toString(36)}`;
let d: TestDeployer;
let dir: string;
let node: string;


const cli = (args: string[], env: NodeJS.ProcessEnv = d.env) => runCli(args, env);

/** A request file for version `version` of the test application on one node; `failing` adds a health check that never passes. */
function requestFile(deploymentId: string, version: string, failing?: { onFailure: 'rollback' | 'pause' }): string {
  const request = {
    kind: 'Deploy',
    deploymentId,
    application: { name: app, version, image: `${d.inventory.registry.pull}/busybox:1` },
    nodes: [node],
    container: { command: IDLE },
    ...(failing ? { healthCheck: { tcp: { port: 9 }, intervalMs: 100, timeoutMs: 200, deadlineMs: 1000 }, strategy: { onFailure: failing.onFailure } } : {}),
  };
  const file = join(dir, `${deploymentId}.json`);
  writeFileSync(file, JSON.stringify(request));
  return file;
}

const terminals = (id: string) => d.events.filter((e) => e.deploymentId === id && isTerminal(e.phase)).map((e) => e.phase);
const paused = (id: string) => () => d.events.some((e) => e.deploymentId === id && e.phase === 'Paused' && e.node === undefined);

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first (npm test does)`);
  d = await startDeployer('cli');
  node = d.inventory.nodes[0]!.id;
  dir = mkdtempSync(join(tmpdir(), 'deployer-cli-'));
});

afterAll(async () => {
  if (d) {
    await removeApplication(d, app);
    await d.stop();
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const id = (n: string) => `${app}-${n}`;

describe('the deployer CLI', () => {
  it('deploys through Kafka and waits for the outcome, exit 0', async () => {
    const run = await cli(['deploy', requestFile(id('v1'), '1'), '--wait']);
    expect(run).toMatchObject({ code: 0 });
    expect(run.stdout).toContain(`sent Deploy ${id('v1')}`);
    expect(run.stdout.trim().split('\n').at(-1)).toMatch(/Succeeded/);
  });

  it('shows a deployment that ended as JSON, with its outcome per node', async () => {
    const run = await cli(['status', id('v1'), '--json']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ deploymentId: id('v1'), kind: 'Deploy', application: app, version: '1', status: 'Succeeded', nodes: { [node]: { state: 'Healthy' } }, source: 'temporal' });
  });

  it('follows a deployment per node until it ends, then prints the outcome', async () => {
    expect((await cli(['deploy', requestFile(id('v2'), '2')])).code).toBe(0);
    const run = await cli(['status', id('v2'), '--follow', '--interval', '0.3']);
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines.some((l) => l.startsWith(node) && l.includes('Healthy'))).toBe(true);
    expect(lines.at(-1)).toBe('outcome: Succeeded');
  });

  it('lists the application’s deployments from Temporal', async () => {
    const rows = await waitFor('both deployments listed as Succeeded', async () => {
      const run = await cli(['list', '--app', app, '--since', '1h', '--json']);
      expect(run.code).toBe(0);
      const list = JSON.parse(run.stdout) as { deploymentId: string; status: string }[];
      return list.filter((r) => r.status === 'Succeeded').length >= 2 ? list : undefined;
    });
    expect(rows.map((r) => r.deploymentId)).toEqual(expect.arrayContaining([id('v1'), id('v2')]));
  });

  it('reads the deployment records back, with every node and the outcome', async () => {
    const run = await cli(['history', '--app', app, '--json']);
    expect(run.code).toBe(0);
    const records = JSON.parse(run.stdout) as { deploymentId: string }[];
    expect(records.find((r) => r.deploymentId === id('v2'))).toMatchObject({ kind: 'Deploy', application: app, version: '2', status: 'Succeeded', nodes: { [node]: { state: 'Healthy' } } });
    expect(records.map((r) => r.deploymentId)).toContain(id('v1'));
  });

  it('shows the application running on its node, as the node’s engine reports it through the worker', async () => {
    const run = await cli(['nodes', '--json']);
    expect(run.code).toBe(0);
    const nodes = JSON.parse(run.stdout) as NodeView[];
    expect(nodes.map((n) => n.node).sort()).toEqual(d.inventory.nodes.map((n) => n.id).sort());
    const mine = nodes.find((n) => n.node === node)!;
    expect(mine).toMatchObject({ target: 'docker-engine', status: { ready: true, platform: { os: 'linux' } } });
    expect(mine.instances.filter((c) => c.application === app && c.state === 'running')).toEqual([expect.objectContaining({ version: '2', deploymentId: id('v2') })]);
  });

  it('sends a Rollback to a named version and prints its deploymentId', async () => {
    const run = await cli(['rollback', app, '--to', '1', '--json']);
    expect(run.code).toBe(0);
    const sent = JSON.parse(run.stdout) as { kind: string; deploymentId: string; toVersion: string };
    expect(sent).toMatchObject({ kind: 'Rollback', application: app, toVersion: '1' });
    expect((await d.terminal(sent.deploymentId)).at(-1)!.phase).toBe('Succeeded');
  });

  it('starts a deployment in Temporal directly, without Kafka, and follows it to its outcome', async () => {
    const run = await cli(['deploy', requestFile(id('v3'), '3'), '--direct', '--wait']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`Deploy ${id('v3')} started in Temporal`);
    expect(run.stdout.trim().split('\n').at(-1)).toBe('outcome: Succeeded');
  });

  it('exits 1 when the deployment it waited for was rolled back, and retries it', async () => {
    const failing = id('bad');
    const run = await cli(['deploy', requestFile(failing, '4', { onFailure: 'rollback' }), '--wait']);
    expect(run.code).toBe(1);
    expect(run.stdout.trim().split('\n').at(-1)).toMatch(/RolledBack/);

    // Asked right after the terminal event, while the workflow is still closing.
    const retry = await cli(['retry', failing, '--json']);
    expect(retry).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(retry.stdout)).toMatchObject({ kind: 'Retry', deploymentId: failing });
    await waitFor('the retried run to end', () => terminals(failing).length >= 2, 120_000);
    expect(terminals(failing)).toEqual(['RolledBack', 'RolledBack']);
  });

  it('cancels a paused deployment', async () => {
    const p = id('pause-cancel');
    expect((await cli(['deploy', requestFile(p, '5', { onFailure: 'pause' })])).code).toBe(0);
    await waitFor(`${p} to pause`, paused(p), 120_000);
    const run = await cli(['cancel', p]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`sent Cancel ${p}`);
    expect((await d.terminal(p)).at(-1)!.phase).toBe('Cancelled');
  });

  it('decides rollback for a paused deployment, and refuses a decision once it has ended', async () => {
    const p = id('pause-decide');
    expect((await cli(['deploy', requestFile(p, '6', { onFailure: 'pause' })])).code).toBe(0);
    await waitFor(`${p} to pause`, paused(p), 120_000);
    const run = await cli(['decide', p, 'rollback', '--json']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ deploymentId: p, accepted: 'rollback', failedNodes: [node] });
    expect((await d.terminal(p)).at(-1)!.phase).toBe('RolledBack');

    const late = await cli(['decide', p, 'retry']);
    expect(late.code).toBe(1);
    expect(late.stderr).toMatch(/^deployer: /);
  });

  it('scales the application onto two nodes, two replicas each, then undeploys it from one, then from all, then again: nothing to remove', async () => {
    const other = d.inventory.nodes.find((n) => n.id !== node && n.target.kind === 'docker-engine')!.id;
    const running = async () => {
      const on = await containersOf(d, app);
      return Object.fromEntries(Object.entries(on).map(([n, cs]) => [n, cs.filter((c) => c.state === 'running').length]).filter(([, k]) => k !== 0));
    };
    const scale = await cli(['scale', app, '--nodes', `${node},${other}`, '--replicas', '2', '--wait']);
    expect({ code: scale.code, last: scale.stdout.trim().split('\n').at(-1) }).toMatchObject({ code: 0, last: expect.stringMatching(/Succeeded/) });
    expect(await running()).toEqual({ [node]: 2, [other]: 2 });

    const off = await cli(['undeploy', app, '--nodes', other, '--wait', '--json']);
    expect(off.code).toBe(0);
    expect(await running()).toEqual({ [node]: 2 });
    const all = await cli(['undeploy', app, '--wait']);
    expect(all.code).toBe(0);
    expect(await running()).toEqual({});
    const again = await cli(['undeploy', app, '--wait', '--json']);
    expect(again.code).toBe(0);
    const end = JSON.parse(again.stdout.trim().split('\n').at(-1)!) as { phase: string; message: string };
    expect(end).toMatchObject({ phase: 'Succeeded', message: `nothing to remove: ${app} has no container on any node of the inventory` });
  });

  it('refuses a scale or undeploy the bridge would refuse, with the reason, before sending it', async () => {
    const run = await cli(['scale', app, '--nodes', 'fog-99']);
    expect(run).toMatchObject({ code: 2, stdout: '' });
    expect(run.stderr).toBe("deployer: the Scale request would be refused: nodes[0]: unknown node 'fog-99'\n");
  });

  it('validates a request and a template without starting anything: what would run where, or every problem (exit 2)', async () => {
    const good = await cli(['validate', requestFile(id('check'), '7')]);
    expect(good).toMatchObject({ code: 0, stderr: '' });
    expect(good.stdout).toContain(`Deploy ${id('check')}: ${app}:7 on ${node}`);

    const template = await cli(['validate', join(__dirname, '../../examples/tosca/hello.yaml'), '--input', 'greeting=hi', '--json']);
    expect(template.code).toBe(0);
    const { requests } = JSON.parse(template.stdout) as { requests: { kind: string; nodes: string[] }[] };
    expect(requests.map((r) => [r.kind, r.nodes])).toEqual([['Deploy', ['fog-1', 'fog-2']]]);

    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ kind: 'Deploy', deploymentId: id('bad-check'), application: { name: app, version: '1', image: 'x' }, nodes: ['fog-99', node, 'fog-98'] }));
    const bad = await cli(['validate', file]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(`deployer: ${file} would be refused:\n  nodes[0]: unknown node 'fog-99'\n  nodes[2]: unknown node 'fog-98'\n`);
    // Nothing was sent or started.
    expect(d.events.some((e) => e.deploymentId === id('check') || e.deploymentId === id('bad-check'))).toBe(false);
  });

  it('exits 1 for a deployment nobody knows, 2 for bad usage with the reason on stderr, and 3 when the platform cannot be reached', async () => {
    const unknown = await cli(['status', `${app}-never`]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no deployment');

    const bad = await cli(['list', '--since', 'yesterday']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--since must be a duration');

    const port = await freePort();
    const noTemporal = await cli(['status', id('v1')], { ...d.env, TEMPORAL_ADDRESS: `127.0.0.1:${port}` });
    expect(noTemporal.code).toBe(3);
    expect(noTemporal.stderr).toContain(`cannot reach Temporal at 127.0.0.1:${port}`);
    const noKafka = await cli(['history'], { ...d.env, KAFKA_BROKERS: `127.0.0.1:${port}` });
    expect(noKafka.code).toBe(3);
    expect(noKafka.stderr).toContain(`cannot reach Kafka at 127.0.0.1:${port}`);
  });
});
