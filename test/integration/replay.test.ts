// Replay: the histories of this run's deployments (every workflow the integration tests
// started and that has closed) are replayed against the current workflow code. A change
// that would break running deployments with a nondeterminism error fails here. Runs last
// (alone, after the parallel suites, and after test/faults/: test/support/sequencer.js), and makes one deployment of each outcome itself so that it
// never replays nothing.
import { Client, Connection } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { dataConverter } from '../../src/codec/data-converter';
import { isTerminal } from '../../src/core/schemas/event';
import { FOREIGN_TASK_QUEUE, removeApplication, startDeployer, waitFor, type TestDeployer } from '../support/deployer';
import { workflowCode } from '../support/workflow-code';
import * as workflows from '../../workflows';

jest.setTimeout(300_000);

const app = `it-replay-${Date.now().toString(36)}`;
let d: TestDeployer;

beforeAll(async () => {
  d = await startDeployer('replay');
});

afterAll(async () => {
  if (d) {
    await removeApplication(d, app);
    await d.stop();
  }
});

describe('workflow histories of this run', () => {
  it('replay against the current workflow code without nondeterminism errors', async () => {
    const base = {
      kind: 'Deploy',
      application: { name: app, version: 'v1', image: `${d.inventory.registry.pull}/busybox:1` },
      nodes: d.inventory.nodes.slice(0, 2).map((n) => n.id),
      healthCheck: { tcp: { port: 18500 }, intervalMs: 200, deadlineMs: 3000 },
    };
    await d.send({ ...base, deploymentId: `${app}-ok`, container: { command: ['sh', '-c', "trap 'exit 0' TERM; httpd -f -p 18500 -h / & wait"] } });
    await d.send({ ...base, deploymentId: `${app}-bad`, container: { command: ['sh', '-c', 'exit 1'], restartPolicy: 'no' } });
    await d.terminal(`${app}-ok`);
    await d.terminal(`${app}-bad`);
    expect(d.events.filter((e) => e.deploymentId.startsWith(app) && isTerminal(e.phase)).map((e) => e.phase).sort()).toEqual(['RolledBack', 'Succeeded']);

    // Histories are encrypted: the replayer needs the same codec as the worker that wrote them.
    const converter = dataConverter(d.config);
    const client = new Client({ connection: await Connection.connect({ address: d.config.temporal.address }), namespace: d.config.temporal.namespace, dataConverter: converter });
    // The whole run's start (scripts/test.sh runs the suites in two Jest runs), else this process's.
    const since = process.env.DEPLOYER_TEST_RUN_STARTED ?? new Date(performance.timeOrigin).toISOString();
    // Every workflow type the worker registers (the Terminate compensation too), so that none is left out.
    const types = Object.keys(workflows).map((t) => `'${t}'`).join(', ');
    // Not the workflows a test ran on a foreign worker under a Deployer type's name (forged-history.test.ts).
    const query = `StartTime >= '${since}' AND ExecutionStatus != 'Running' AND WorkflowType IN (${types}) AND TaskQueue != '${FOREIGN_TASK_QUEUE}'`;
    await waitFor('this run’s workflows to be visible as closed', async () => {
      for await (const w of client.workflow.list({ query: `${query} AND WorkflowId = '${app}-ok'` })) return w;
      return undefined;
    });

    const replayed: string[] = [];
    const failures: string[] = [];
    const results = Worker.runReplayHistories({ ...workflowCode(), dataConverter: converter }, client.workflow.list({ query }).intoHistories());
    for await (const r of results) {
      replayed.push(r.workflowId);
      if (r.error) failures.push(`${r.workflowId}: ${r.error.message}`);
    }
    expect(failures).toEqual([]);
    expect(replayed).toEqual(expect.arrayContaining([`${app}-ok`, `${app}-bad`, `${app}-ok/${base.nodes[0]}`]));
  });
});
