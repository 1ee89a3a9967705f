// The worker SIGKILLed in the middle of a node's health wait. A node's steps run as local
// activities of its node workflow (workflows/options.ts): a worker that dies takes the
// running step with it, and the next worker runs the node's workflow task again. What that
// may cost is one more run of the step that was cut short, nothing more: the container apply
// started is kept (same id, never restarted), and the deployment succeeds.
import type { ChildProcess } from 'node:child_process';
import { temporal } from '@temporalio/proto';
import { decodePayloads } from '../../src/codec/data-converter';
import { isTerminal } from '../../src/core/schemas/event';
import { LABELS } from '../../src/core/labels';
import { nodeWorkflowId } from '../../src/core/workflow-ids';
import { engineEvents, engineNodes, httpGet, removeApplication, spawnWorker, startDeployer, waitFor, type TestDeployer } from '../support/deployer';
import { isLocalActivityMarker } from '../support/history';

jest.setTimeout(300_000);

const app = `it-vcrash-${Date.now().toString(36)}`;
const port = 18700;
/** Seconds before the server listens: the health wait lasts that long, and the kill lands well inside it. */
const SLOW_START = 30;
let d: TestDeployer;
let worker: ChildProcess | undefined;

beforeAll(async () => {
  d = await startDeployer('verify-crash', { worker: false });
  worker = spawnWorker(d);
});

afterAll(async () => {
  worker?.kill('SIGKILL');
  if (d) {
    // Only its own node: the fault suites beside it stop the others' engines.
    await removeApplication(d, app, [engineNodes(d)[0]!.id]);
    await d.stop();
  }
});

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
const { EventType } = temporal.api.enums.v1;

/** The activity type of each local activity the workflow has recorded as done (its markers), in order. */
async function recordedLocalActivities(events: HistoryEvent[]): Promise<string[]> {
  const out: string[] = [];
  for (const e of events) {
    const data = e.markerRecordedEventAttributes?.details?.data?.payloads?.[0];
    if (!isLocalActivityMarker(e) || data === undefined || data === null) continue;
    const [decoded] = await decodePayloads(d.client.options.loadedDataConverter, [data]);
    out.push((JSON.parse(Buffer.from(decoded!.data ?? []).toString('utf8')) as { activity_type: string }).activity_type);
  }
  return out;
}

async function nodeHistory(workflowId: string): Promise<HistoryEvent[]> {
  return (await d.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
}

describe('the worker killed during a health wait of a node', () => {
  it('costs one more run of the verify step at most: the same container, never restarted, and the deployment succeeds', async () => {
    const node = engineNodes(d)[0]!;
    const id = `${app}-1`;
    const since = Math.floor(Date.now() / 1000) - 1;
    await d.send({
      kind: 'Deploy',
      deploymentId: id,
      application: { name: app, version: 'v1', image: `${d.inventory.registry.pull}/busybox:1` },
      nodes: [node.id],
      container: { command: ['sh', '-c', `sleep ${SLOW_START}; trap 'exit 0' TERM; httpd -f -p ${port} -h /www & wait`], files: [{ path: '/www/v', content: 'v1' }], restartPolicy: 'no' },
      healthCheck: { tcp: { port }, intervalMs: 500, healthyAfter: 2, deadlineMs: 60_000 },
    });

    // The apply recorded in the node workflow's history, the verify not: the node is in its health wait.
    const child = nodeWorkflowId(id, node.id);
    await waitFor('the apply recorded in the node workflow', async () => {
      try {
        return (await recordedLocalActivities(await nodeHistory(child))).includes('applyNode');
      } catch {
        // The node workflow does not exist yet.
        return undefined;
      }
    }, 60_000);
    const docker = d.engines.node(node.id);
    const [container] = await docker.listContainers({ filters: JSON.stringify({ label: [`${LABELS.application}=${app}`] }) });
    const before = await docker.getContainer(container!.Id).inspect();
    expect(before.State.Running).toBe(true);
    // Still in the wait when the worker dies: nothing listens yet, and no verify is recorded.
    expect('error' in (await httpGet(`http://${node.address}:${port}/v`))).toBe(true);
    expect(await recordedLocalActivities(await nodeHistory(child))).not.toContain('verifyNode');

    worker!.kill('SIGKILL');
    await new Promise((r) => worker!.once('exit', r));
    worker = spawnWorker(d);

    const events = await d.terminal(id, 180_000);
    const end = events.filter((e) => isTerminal(e.phase));
    expect(end.map((e) => [e.phase, e.phase === 'Succeeded' ? '' : e.message])).toEqual([['Succeeded', '']]);

    // The container apply started, never recreated nor restarted: the engine's own record agrees.
    const after = await docker.getContainer(container!.Id).inspect();
    expect([after.Id, after.State.StartedAt, after.RestartCount, after.State.Running]).toEqual([before.Id, before.State.StartedAt, 0, true]);
    const seen = await engineEvents(d, node.id, `${LABELS.application}=${app}`, since, Math.ceil(Date.now() / 1000) + 1);
    expect(seen.filter((e) => ['create', 'start', 'restart', 'die'].includes(e.Action)).map((e) => e.Action)).toEqual(['create', 'start']);
    expect((await httpGet(`http://${node.address}:${port}/v`))).toEqual({ status: 200, body: 'v1' });

    // Runs of the verify step: the one recorded, and one for each workflow task lost while it
    // was the step in progress (a local activity runs inside its workflow task, and dies with it).
    const history = await nodeHistory(child);
    const recorded = await recordedLocalActivities(history);
    expect(recorded).toEqual(['applyNode', 'verifyNode']);
    const applyAt = history.findIndex(isLocalActivityMarker);
    const lost = history.slice(applyAt).filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT || e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED);
    // Twice: the run the kill cut short and the one recorded. At most twice is what a worker's
    // death may cost; not once says the kill did land inside the step.
    expect(recorded.filter((a) => a === 'verifyNode').length + lost.length).toBe(2);
  });
});
