// What operators do to running deployments, on the real stack: cancel (through Kafka and
// through the temporal CLI), decide for a paused deployment (retry, skip, rollback, sent as
// a Temporal update), retry a rolled-back deployment through Kafka, two overlapping
// deployments of one application that never act on a node at the same time, and the
// Temporal UI's other actions through the temporal CLI: Terminate mid-rollout (the lock
// compensates) and Reset of a rolled-back deployment (signals reapplied, the default).
import { spawnSync } from 'node:child_process';
import { CancelledFailure } from '@temporalio/common';
import { type WorkflowFailedError } from '@temporalio/client';
import { LABELS } from '../../src/core/labels';
import { isTerminal, type StatusEvent } from '../../src/core/schemas/event';
import { decideUpdate } from '../../workflows/definitions';
import { containersOf, engineEvents, httpGet, removeApplication, runningOn, runsOf, startDeployer, waitFor, type TestDeployer } from '../support/deployer';
import { temporalBinary } from '../support/temporal-binary';
import { runCli } from '../support/cli';
import { notIncreasing } from '../support/seq';

jest.setTimeout(300_000);

const stamp = Date.now().toString(36);
let d: TestDeployer;
const used: string[] = [];

beforeAll(async () => {
  d = await startDeployer('ops');
});

afterAll(async () => {
  if (d) {
    for (const app of used) await removeApplication(d, app);
    await d.stop();
  }
});

const nodes = () => d.inventory.nodes.slice(0, 3);

interface Variant {
  /** Fails on the third node unless /state/ok exists in the node's `state` volume. */
  failOnThird?: boolean;
  /** Seconds before the server starts listening. */
  slowStart?: number;
}

function request(app: string, port: number, n: number, variant: Variant = {}, strategy: object = {}) {
  const bad = nodes()[2]!.address;
  const refuse = variant.failOnThird ? `if [ ! -f /state/ok ] && ip -o addr | grep -q " ${bad}/"; then exit 3; fi; ` : '';
  const wait = variant.slowStart ? `sleep ${variant.slowStart}; ` : '';
  return {
    kind: 'Deploy',
    deploymentId: `${app}-${n}`,
    application: { name: app, version: `v${n}`, image: `${d.inventory.registry.pull}/busybox:1` },
    nodes: nodes().map((x) => x.id),
    container: {
      command: ['sh', '-c', `${refuse}${wait}trap 'exit 0' TERM; httpd -f -p ${port} -h /www & wait`],
      files: [{ path: '/www/version.txt', content: `v${n}` }],
      volumes: [{ name: `${app}-state`, target: '/state' }],
      restartPolicy: 'no',
    },
    healthCheck: { http: { port, path: '/version.txt' }, intervalMs: 200, healthyAfter: 2, deadlineMs: 60_000 },
    strategy: { maxParallel: 1, ...strategy },
  };
}

function newApp(name: string): string {
  const app = `it-${name}-${stamp}`;
  used.push(app);
  return app;
}

async function versionsServed(port: number): Promise<unknown[]> {
  return Promise.all(nodes().map(async (n) => {
    const r = await httpGet(`http://${n.address}:${port}/version.txt`);
    return 'body' in r ? r.body : r.error;
  }));
}

async function deployOk(app: string, port: number, n: number): Promise<void> {
  await d.send(request(app, port, n));
  expect((await d.terminal(`${app}-${n}`)).at(-1)!.phase).toBe('Succeeded');
}

const eventOf = (id: string, pred: (e: StatusEvent) => boolean) => () => d.events.find((e) => e.deploymentId === id && pred(e));
const terminalPhases = (id: string) => d.events.filter((e) => e.deploymentId === id && isTerminal(e.phase)).map((e) => e.phase);

/** Marks the third node healthy for apps whose v* refuse to serve there (writes /state/ok in its volume). */
async function healThirdNode(app: string): Promise<void> {
  const docker = d.engines.node(nodes()[2]!.id);
  const c = await docker.createContainer({
    Image: `${d.inventory.registry.pull}/busybox:1`,
    Cmd: ['touch', '/state/ok'],
    HostConfig: { NetworkMode: 'none', Mounts: [{ Type: 'volume', Source: `${app}-state`, Target: '/state' }] },
  });
  await c.start();
  await c.wait();
  await c.remove();
}

describe('cancel on the real stack', () => {
  it('a Kafka Cancel during the deploy phase on 3 nodes puts the previous version back everywhere; terminal Cancelled', async () => {
    const app = newApp('cancel');
    await deployOk(app, 18201, 1);
    await d.send(request(app, 18201, 2, { slowStart: 60 }, { maxParallel: 3 }));
    // All three nodes run v2's (not yet listening) container, and the rollout waits on their health checks.
    await runningOn(d, app, `${app}-2`, nodes().map((n) => n.id));
    await d.send({ kind: 'Cancel', deploymentId: `${app}-2` }, app);
    await d.terminal(`${app}-2`);

    expect(terminalPhases(`${app}-2`)).toEqual(['Cancelled']);
    expect(await versionsServed(18201)).toEqual(['v1', 'v1', 'v1']);
    const containers = await containersOf(d, app);
    for (const n of nodes()) expect(containers[n.id]!.map((c) => [c.version, c.state])).toEqual([['v1', 'running']]);
    // The terminal event goes out just before the run closes.
    await d.client.workflow.getHandle(`${app}-2`).result().catch(() => undefined);
    expect((await d.client.workflow.getHandle(`${app}-2`).describe()).status.name).toBe('CANCELLED');
  });

  it('`temporal workflow cancel` does the same', async () => {
    const app = newApp('tcancel');
    await deployOk(app, 18202, 1);
    await d.send(request(app, 18202, 2, { slowStart: 60 }, { maxParallel: 3 }));
    await runningOn(d, app, `${app}-2`, [nodes()[0]!.id]);
    const cli = spawnSync(temporalBinary(), ['workflow', 'cancel', '--workflow-id', `${app}-2`, '--address', d.config.temporal.address], { encoding: 'utf8' });
    expect(cli.status).toBe(0);
    const err = await d.client.workflow.getHandle(`${app}-2`).result().catch((e: unknown) => e);
    expect((err as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    await d.terminal(`${app}-2`);
    expect(terminalPhases(`${app}-2`)).toEqual(['Cancelled']);
    expect(await versionsServed(18202)).toEqual(['v1', 'v1', 'v1']);
  });
});

describe('paused deployments on the real stack', () => {
  it('each decision sent as an update does what it says: skip, rollback, retry', async () => {
    const app = newApp('pause');
    const port = 18203;
    await deployOk(app, port, 1);
    const paused = (id: string) => waitFor(`${id} paused`, eventOf(id, (e) => e.phase === 'Paused' && e.node === undefined));

    // skip: the third node goes back to v1, the others keep v2, the deployment succeeds.
    await d.send(request(app, port, 2, { failOnThird: true }, { onFailure: 'pause' }));
    await paused(`${app}-2`);
    await d.client.workflow.getHandle(`${app}-2`).executeUpdate(decideUpdate, { args: ['skip'] });
    await d.terminal(`${app}-2`);
    expect(terminalPhases(`${app}-2`)).toEqual(['Succeeded']);
    expect(await versionsServed(port)).toEqual(['v2', 'v2', 'v1']);

    // rollback: every node back to what it ran before this deployment.
    await d.send(request(app, port, 3, { failOnThird: true }, { onFailure: 'pause' }));
    await paused(`${app}-3`);
    await d.client.workflow.getHandle(`${app}-3`).executeUpdate(decideUpdate, { args: ['rollback'] });
    await d.terminal(`${app}-3`);
    expect(terminalPhases(`${app}-3`)).toEqual(['RolledBack']);
    expect(await versionsServed(port)).toEqual(['v2', 'v2', 'v1']);

    // retry: the cause is fixed on the node, the failed node is tried again and the deployment succeeds.
    await d.send(request(app, port, 4, { failOnThird: true }, { onFailure: 'pause' }));
    await paused(`${app}-4`);
    await healThirdNode(app);
    const answer = await d.client.workflow.getHandle(`${app}-4`).executeUpdate(decideUpdate, { args: ['retry'] });
    expect(answer).toEqual({ accepted: 'retry', failedNodes: [nodes()[2]!.id] });
    await d.terminal(`${app}-4`);
    expect(terminalPhases(`${app}-4`)).toEqual(['Succeeded']);
    expect(await versionsServed(port)).toEqual(['v4', 'v4', 'v4']);
  });
});

describe('Retry on the real stack', () => {
  it('runs a rolled-back deployment again as a new run of the same workflow id, numbering its events on', async () => {
    const app = newApp('retry');
    const port = 18204;
    await deployOk(app, port, 1);
    await d.send(request(app, port, 2, { failOnThird: true }));
    await d.terminal(`${app}-2`);
    expect(terminalPhases(`${app}-2`)).toEqual(['RolledBack']);
    const firstRunLastSeq = Math.max(...d.events.filter((e) => e.deploymentId === `${app}-2`).map((e) => e.seq));

    await healThirdNode(app);
    await d.send({ kind: 'Retry', deploymentId: `${app}-2` }, app);
    await waitFor('the retry to succeed', () => terminalPhases(`${app}-2`).length === 2, 120_000);
    expect(terminalPhases(`${app}-2`)).toEqual(['RolledBack', 'Succeeded']);
    expect(await versionsServed(port)).toEqual(['v2', 'v2', 'v2']);

    const secondRun = d.events.filter((e) => e.deploymentId === `${app}-2`).slice(-1)[0]!;
    expect(secondRun.seq).toBeGreaterThan(firstRunLastSeq);
    // Two runs, each as Temporal itself describes it; the terminal event is published just before a run closes.
    const runs = await runsOf(d, `${app}-2`);
    const statuses = await waitFor('both runs closed', async () => {
      const now = await Promise.all(runs.map(async (runId) => (await d.client.workflow.getHandle(`${app}-2`, runId).describe()).status.name));
      return now.includes('RUNNING') ? undefined : now.sort();
    });
    expect(statuses).toEqual(['COMPLETED', 'FAILED']);

    // A Retry of a deployment that succeeded is refused with a reason.
    await d.send({ kind: 'Retry', deploymentId: `${app}-2` }, app);
    const letter = await waitFor('a dead letter', () => d.deadLetters.find((l) => l.original.includes(`"${app}-2"`)));
    expect(letter.reason).toContain('succeeded; only a failed, cancelled or rolled-back deployment can be retried');
  });
});

describe('one deployment per application at a time, on the real stack', () => {
  it('two overlapping deployments never act on one node at the same time, and complete in order', async () => {
    const app = newApp('overlap');
    const port = 18205;
    const since = Math.floor(Date.now() / 1000) - 1;
    await d.send(request(app, port, 1, { slowStart: 2 }));
    await d.send(request(app, port, 2, { slowStart: 2 }));
    await d.terminal(`${app}-2`, 180_000);
    await d.terminal(`${app}-1`, 180_000);
    const end1 = Date.parse(d.events.find((e) => e.deploymentId === `${app}-1` && isTerminal(e.phase))!.at);
    const end2 = Date.parse(d.events.find((e) => e.deploymentId === `${app}-2` && isTerminal(e.phase))!.at);
    expect(terminalPhases(`${app}-1`)).toEqual(['Succeeded']);
    expect(terminalPhases(`${app}-2`)).toEqual(['Succeeded']);
    expect(end1).toBeLessThan(end2);

    // From each engine's own event stream: everything done to the second deployment's
    // containers happened after the first ended, and the first's were made before that.
    const until = Math.ceil(Date.now() / 1000) + 1;
    for (const node of nodes()) {
      const events = await engineEvents(d, node.id, `${LABELS.application}=${app}`, since, until);
      const of = (id: string) => events.filter((e) => e.Actor.Attributes[LABELS.deployment] === id);
      const ms = (e: { timeNano: number }) => e.timeNano / 1e6;
      expect(of(`${app}-2`).length).toBeGreaterThan(0);
      for (const e of of(`${app}-2`)) expect([node.id, e.Action, ms(e) > end1]).toEqual([node.id, e.Action, true]);
      for (const e of of(`${app}-1`).filter((x) => x.Action === 'create' || x.Action === 'start')) {
        expect([node.id, e.Action, ms(e) < end1]).toEqual([node.id, e.Action, true]);
      }
    }
    expect(await versionsServed(port)).toEqual(['v2', 'v2', 'v2']);
  });
});

/** What the node engines did to an application's containers since `since` (s), per node. */
async function engineHistory(app: string, since: number) {
  const until = Math.ceil(Date.now() / 1000) + 1;
  const out: Record<string, { deployment: string; action: string; ms: number }[]> = {};
  for (const node of nodes()) {
    out[node.id] = (await engineEvents(d, node.id, `${LABELS.application}=${app}`, since, until)).map((e) => ({ deployment: e.Actor.Attributes[LABELS.deployment]!, action: e.Action, ms: e.timeNano / 1e6 }));
  }
  return out;
}

describe('Terminate on the real stack', () => {
  it('`temporal workflow terminate` mid-rollout on 3 nodes: the previous version back everywhere, one terminal event (Cancelled), one record, the CLI agreeing, and the next deployment goes', async () => {
    const app = newApp('terminate');
    const port = 18206;
    await deployOk(app, port, 1);
    const since = Math.floor(Date.now() / 1000) - 1;
    await d.send(request(app, port, 2, { slowStart: 60 }, { maxParallel: 3 }));
    await runningOn(d, app, `${app}-2`, nodes().map((n) => n.id));
    const terminatedAt = Date.now();
    const cli = spawnSync(temporalBinary(), ['workflow', 'terminate', '--workflow-id', `${app}-2`, '--reason', 'operator pressed Terminate', '--address', d.config.temporal.address], { encoding: 'utf8' });
    expect({ status: cli.status, stderr: cli.stderr }).toEqual({ status: 0, stderr: '' });
    // The next deployment of the application, sent at once.
    await d.send(request(app, port, 3));

    await d.terminal(`${app}-2`, 90_000);
    await d.terminal(`${app}-3`, 180_000);
    expect(terminalPhases(`${app}-3`)).toEqual(['Succeeded']);
    expect(await versionsServed(port)).toEqual(['v3', 'v3', 'v3']);
    // Some seconds later there is still exactly one terminal event of the terminated one, numbered after its others.
    await new Promise((r) => setTimeout(r, 3000));
    expect(terminalPhases(`${app}-2`)).toEqual(['Cancelled']);
    const events = d.events.filter((e) => e.deploymentId === `${app}-2`);
    expect(notIncreasing(events.map((e) => e.seq))).toEqual([]);
    const end = events.at(-1)!;
    expect(end.message).toMatch(/^terminated by an operator; restored fog-\d+, fog-\d+, fog-\d+$/);
    for (const n of nodes()) expect(end.message).toContain(n.id);
    await waitFor('its record', () => d.records.some((r) => r.deploymentId === `${app}-2`));
    expect(d.records.filter((r) => r.deploymentId === `${app}-2`).map((r) => [r.status, r.reason])).toEqual([['Cancelled', end.message]]);
    // `deployer status` and `deployer list` say how it ended, not where the Terminate caught it.
    const status = await runCli(['status', `${app}-2`, '--json'], d.env);
    expect(JSON.parse(status.stdout)).toMatchObject({ status: 'Cancelled', reason: end.message });
    const list = await runCli(['list', '--app', app, '--since', '1h', '--json'], d.env);
    expect((JSON.parse(list.stdout) as { deploymentId: string; status: string }[]).find((r) => r.deploymentId === `${app}-2`)?.status).toBe('Cancelled');

    // On every engine: v1 started again after the terminate, and v2's containers removed, before v3 created anything.
    const history = await engineHistory(app, since);
    for (const n of nodes()) {
      const on = history[n.id]!;
      const restarted = on.find((e) => e.deployment === `${app}-1` && e.action === 'start' && e.ms > terminatedAt);
      const removed = on.find((e) => e.deployment === `${app}-2` && e.action === 'destroy');
      const next = on.find((e) => e.deployment === `${app}-3` && e.action === 'create');
      expect([n.id, restarted !== undefined, removed !== undefined, next !== undefined]).toEqual([n.id, true, true, true]);
      expect([n.id, restarted!.ms < next!.ms, removed!.ms < next!.ms]).toEqual([n.id, true, true]);
    }
  });
});

describe('Reset on the real stack', () => {
  it('`temporal workflow reset --type FirstWorkflowTask` of a rolled-back deployment while another holds the lock: the new run waits, republishes nothing, numbers on', async () => {
    const app = newApp('reset');
    const port = 18207;
    // v2 is sent while v1 deploys, so the lock grants it by a signal, which a reset reapplies.
    await d.send(request(app, port, 1, { slowStart: 2 }));
    await d.send(request(app, port, 2, { failOnThird: true }));
    await d.terminal(`${app}-2`, 180_000);
    expect(terminalPhases(`${app}-1`)).toEqual(['Succeeded']);
    expect(terminalPhases(`${app}-2`)).toEqual(['RolledBack']);
    const old = await d.client.workflow.getHandle(`${app}-2`).fetchHistory();
    expect(old.events!.map((e) => e.workflowExecutionSignaledEventAttributes?.signalName).filter(Boolean)).toContain('lockGranted');
    const oldLast = Math.max(...d.events.filter((e) => e.deploymentId === `${app}-2`).map((e) => e.seq));
    await healThirdNode(app);

    // v3 holds the application's lock while the operator resets v2.
    await d.send(request(app, port, 3, { slowStart: 15 }));
    await runningOn(d, app, `${app}-3`, [nodes()[0]!.id]);
    const resetAt = Date.now();
    const cli = spawnSync(temporalBinary(), ['workflow', 'reset', '--workflow-id', `${app}-2`, '--type', 'FirstWorkflowTask', '--reason', 'operator reset', '--address', d.config.temporal.address], { encoding: 'utf8' });
    expect({ status: cli.status, stderr: cli.stderr }).toEqual({ status: 0, stderr: '' });

    await waitFor('the reset run to wait for the lock', eventOf(`${app}-2`, (e) => e.seq > oldLast && /waiting for the deployment of/.test(e.message)));
    expect(terminalPhases(`${app}-3`)).toEqual([]);
    const whileWaiting = d.events.filter((e) => e.deploymentId === `${app}-2` && e.seq > oldLast);
    expect(whileWaiting.map((e) => [e.seq, e.phase])).toEqual([
      [oldLast + 1, 'Accepted'],
      [oldLast + 2, 'Accepted'],
    ]);

    await d.terminal(`${app}-3`, 120_000);
    await waitFor('the reset run to end', () => terminalPhases(`${app}-2`).length === 2, 180_000);
    expect(terminalPhases(`${app}-3`)).toEqual(['Succeeded']);
    expect(terminalPhases(`${app}-2`)).toEqual(['RolledBack', 'Succeeded']);
    expect(await versionsServed(port)).toEqual(['v2', 'v2', 'v2']);
    // No seq twice, none of the old run's events again: everything after the reset is numbered on from the old run's last.
    const all = d.events.filter((e) => e.deploymentId === `${app}-2`).map((e) => e.seq);
    expect(all).toEqual(all.map((_, i) => i + 1));
    // The reset run touched no node before v3 had ended.
    const v3End = Date.parse(d.events.find((e) => e.deploymentId === `${app}-3` && isTerminal(e.phase))!.at);
    const history = await engineHistory(app, Math.floor(resetAt / 1000));
    for (const n of nodes()) {
      const touched = history[n.id]!.filter((e) => e.deployment === `${app}-2` && e.ms > resetAt && e.action === 'create');
      expect(touched.length).toBeGreaterThan(0);
      for (const e of touched) expect([n.id, e.ms > v3End]).toEqual([n.id, true]);
    }
  });
});
