// A node's Docker Engine stops mid-rollout. The deployment rolls back on every other node,
// names the unreachable node, and ends Failed (its rollback could not reach that node).
// When the node is back, the documented action, a Retry of the deployment, brings every
// node to a known version.
import { isTerminal } from '../../src/core/schemas/event';
import { containersOf, httpGet, removeApplication, runningOn, startDeployer, waitFor, type TestDeployer } from '../support/deployer';
import { stack } from '../support/stack-control';

jest.setTimeout(600_000);

const app = `it-down-${Date.now().toString(36)}`;
const port = 18400;
let d: TestDeployer;
let downNode: string | undefined;

beforeAll(async () => {
  d = await startDeployer('down');
});

afterAll(async () => {
  if (downNode) stack('start', downNode);
  if (d) {
    await removeApplication(d, app);
    await d.stop();
  }
});

function request(n: number) {
  return {
    kind: 'Deploy',
    deploymentId: `${app}-${n}`,
    application: { name: app, version: `v${n}`, image: `${d.inventory.registry.pull}/busybox:1` },
    nodes: d.inventory.nodes.slice(0, 3).map((x) => x.id),
    container: { command: ['sh', '-c', `sleep 2; trap 'exit 0' TERM; httpd -f -p ${port} -h /www & wait`], files: [{ path: '/www/v', content: `v${n}` }] },
    healthCheck: { http: { port, path: '/v' }, intervalMs: 200, deadlineMs: 30_000 },
    strategy: { maxParallel: 1 },
  };
}

const served = () => Promise.all(d.inventory.nodes.slice(0, 3).map(async (n) => {
  const r = await httpGet(`http://${n.address}:${port}/v`);
  return 'body' in r ? r.body : 'unreachable';
}));
const terminals = (id: string) => d.events.filter((e) => e.deploymentId === id && isTerminal(e.phase));

describe('a node whose engine stops mid-rollout', () => {
  it('rolls back the other nodes, names the unreachable one, and a Retry brings all to a known version later', async () => {
    const [first, second, third] = d.inventory.nodes.slice(0, 3);
    await d.send(request(1));
    await d.terminal(`${app}-1`);
    expect(await served()).toEqual(['v1', 'v1', 'v1']);

    await d.send(request(2));
    await runningOn(d, app, `${app}-2`, [first!.id]);
    downNode = third!.id;
    stack('stop', third!.id);

    await d.terminal(`${app}-2`, 420_000);
    const end = terminals(`${app}-2`);
    expect(end.map((e) => e.phase)).toEqual(['Failed']);
    expect(end[0]!.message).toContain(`rollback incomplete on ${third!.id}`);
    expect(end[0]!.message).toMatch(new RegExp(`${third!.id}.*unreachable`));
    // Every node it could reach runs v1 again (its server listens two seconds after it starts).
    await waitFor('v1 serving on the reachable nodes', async () => {
      const [a, b] = await served();
      return a === 'v1' && b === 'v1';
    }, 15_000);
    const containers = await containersOf({ ...d, inventory: { ...d.inventory, nodes: [first!, second!] } }, app);
    for (const n of [first!, second!]) expect(containers[n.id]!.filter((c) => c.state === 'running').map((c) => c.version)).toEqual(['v1']);

    // The node comes back; the documented action is a Retry of the deployment.
    stack('start', downNode);
    downNode = undefined;
    await d.send({ kind: 'Retry', deploymentId: `${app}-2` }, app);
    await waitFor('the retry to end', () => terminals(`${app}-2`).length === 2, 240_000);
    expect(terminals(`${app}-2`).map((e) => e.phase)).toEqual(['Failed', 'Succeeded']);
    expect(await served()).toEqual(['v2', 'v2', 'v2']);
  });
});
