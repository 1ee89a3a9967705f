// What a node step that is already running makes of a change of the fleet meanwhile
// (activities/targets/node-activities.ts, `stillThere`), with a fake target whose verify and
// tests ask it once the fleet changed, and a fleet held in memory: a tombstone fails the step
// at once, for good; Offline, Draining or a fleet that cannot be read do not end it.
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createNodeActivities, type TargetFactories } from '../../activities/targets/node-activities';
import type { StillThere, Target } from '../../activities/targets/target';
import { fleetOfFile, type Fleet } from '../../src/core/fleet';
import { nodeIntent } from '../../src/core/intent';
import { deployRequestSchema } from '../../src/core/schemas/request';
import { minimal } from '../fixtures/requests';

const intent = nodeIntent(deployRequestSchema.parse(minimal), minimal.application.image!);
const online = fleetOfFile({
  registry: { push: '127.0.0.1:5000', pull: 'reg:5000' },
  buildHost: { docker: { socketPath: '/nonexistent' } },
  swarms: [], clusters: [], tls: {}, sites: {},
  nodes: [{ id: 'fog-1', target: { kind: 'docker-engine', docker: { host: '192.0.2.1', port: 2375, insecure: true } }, address: '10.0.0.1', labels: {} }],
});
const withStatus = (status: 'Offline' | 'Draining'): Fleet => ({ ...online, nodes: online.nodes.map((n) => ({ ...n, fleet: { ...n.fleet, status } })) });
const tombstoned: Fleet = { ...online, nodes: [], decommissioned: new Set(['fog-1']) };

/**
 * Runs verify and test on fog-1 with a target that, once the step started, changes the fleet
 * to `then` (a fleet, or a read that fails) and asks `stillThere`; how each step ended.
 */
async function stepsWhen(then: Fleet | Error): Promise<Record<'verify' | 'test', string>> {
  let now: () => Fleet = () => online;
  const midStep = (stillThere: StillThere) => {
    now = then instanceof Error ? () => { throw then; } : () => then;
    stillThere();
  };
  const target = {
    async verify(_intent, _step, stillThere) {
      midStep(stillThere);
      return { probes: 1, elapsedMs: 1 };
    },
    async test(_intent, _step, stillThere) {
      midStep(stillThere);
      return { results: [] };
    },
  } as Pick<Target, 'verify' | 'test'> as Target;
  const factories: TargetFactories = { 'docker-engine': () => target, swarm: () => target, kubernetes: () => target };
  const nodes = createNodeActivities(() => now(), factories, 'q');
  const outcome = (p: Promise<unknown>) =>
    p.then(
      () => 'went on',
      (e: unknown) => (e instanceof ApplicationFailure ? `${e.type}${e.nonRetryable ? ' (not retried)' : ''}: ${e.message}` : String(e)),
    );
  const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
  const verify = await outcome(env.run(() => nodes.verifyNode({ nodeId: 'fog-1', intent })));
  now = () => online;
  const test = await outcome(env.run(() => nodes.testNode({ nodeId: 'fog-1', intent })));
  return { verify, test };
}

describe('a running node step when the fleet changes (fake target, fleet in memory)', () => {
  it('fails at once, not retried, with the decommission named, when the node is tombstoned', async () => {
    const failed = "NodeDecommissionedError (not retried): node 'fog-1' was decommissioned by the Node Manager (a tombstone on its topic): it is no longer part of the fleet";
    expect(await stepsWhen(tombstoned)).toEqual({ verify: failed, test: failed });
  });

  it('goes on when the node turns Offline or Draining: only new steps are kept off it', async () => {
    expect(await stepsWhen(withStatus('Offline'))).toEqual({ verify: 'went on', test: 'went on' });
    expect(await stepsWhen(withStatus('Draining'))).toEqual({ verify: 'went on', test: 'went on' });
  });

  it('goes on when the fleet cannot be read just now', async () => {
    expect(await stepsWhen(new Error('the inventory file is not JSON'))).toEqual({ verify: 'went on', test: 'went on' });
  });
});
