// The Kafka broker is stopped while a deployment runs, and started again. The worker and the
// bridge run in their own processes, so they live through the outage as in production while
// the test watches it: both stay up, and the rollout goes on without Kafka (every node gets
// the new version, as the engines say) while its events wait. Once the broker is back every
// event arrives exactly once, numbered without gaps, with exactly one terminal event, and a
// request sent afterwards is deployed.
import { isProgressMessage } from '../../src/core/live-events';
import { isTerminal } from '../../src/core/schemas/event';
import { engineNodes, removeApplication, runningOn, startDeployer, waitFor, type TestDeployer } from '../support/deployer';
import { notIncreasing } from '../support/seq';
import { stack } from '../support/stack-control';

jest.setTimeout(300_000);

const app = `it-kafka-${Date.now().toString(36)}`;
const port = 18800;
let d: TestDeployer;
let kafkaDown = false;

beforeAll(async () => {
  d = await startDeployer('kafka', { processes: true });
});

afterAll(async () => {
  if (kafkaDown) stack('up');
  if (d) {
    await removeApplication(d, app);
    await d.stop();
  }
});

const nodes = () => engineNodes(d).slice(0, 3).map((x) => x.id);
function request(n: number) {
  return {
    kind: 'Deploy',
    deploymentId: `${app}-${n}`,
    application: { name: app, version: `v${n}`, image: `${d.inventory.registry.pull}/busybox:1` },
    nodes: nodes(),
    container: { command: ['sh', '-c', `sleep 3; trap 'exit 0' TERM; httpd -f -p ${port} -h / & wait`] },
    healthCheck: { tcp: { port }, intervalMs: 200, deadlineMs: 60_000 },
    strategy: { maxParallel: 1 },
  };
}

const of = (id: string) => d.events.filter((e) => e.deploymentId === id);

describe('a Kafka broker stopped and started again', () => {
  it('is lived through by the worker and the bridge: the rollout goes on meanwhile, and every event arrives once afterwards', async () => {
    await d.send(request(1));
    await waitFor('the first deployment to be under way', () => of(`${app}-1`).some((e) => e.node !== undefined));
    stack('stop', 'kafka');
    kafkaDown = true;
    const stopped = Date.now();

    // During the outage: the worker rolls out to every node without Kafka (waitFor fails at
    // once if the worker or the bridge dies), and no event gets through.
    await runningOn(d, app, `${app}-1`, nodes(), 120_000);
    // (What was published before the stop may still be arriving: an event is told by its time.)
    expect(of(`${app}-1`).filter((e) => Date.parse(e.at) > stopped)).toEqual([]);

    stack('up');
    kafkaDown = false;
    await waitFor('the first deployment to end', () => of(`${app}-1`).some((e) => isTerminal(e.phase)), 180_000, 500);
    await d.send(request(2));
    await waitFor('the second deployment to end', () => of(`${app}-2`).some((e) => isTerminal(e.phase)), 180_000, 500);
    for (const id of [`${app}-1`, `${app}-2`]) {
      expect([id, of(id).filter((e) => isTerminal(e.phase)).map((e) => e.phase)]).toEqual([id, ['Succeeded']]);
      // Every event once, in seq order. Gaps are allowed: a node step's live publish that failed
      // in the outage used its number, and the deployment published that step after it.
      expect([id, notIncreasing(of(id).map((e) => e.seq))]).toEqual([id, []]);
      const said = of(id).filter((e) => !isProgressMessage(e.message)).map((e) => `${e.node ?? '-'} ${e.phase}: ${e.message}`);
      expect([id, said]).toEqual([id, [...new Set(said)]]);
    }
  });
});
