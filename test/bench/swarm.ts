// The Swarm target on the local swarm's 3 nodes (see orchestrator.ts), three ways in rotating
// order: the Deployer; a plain script making the same service create/update calls with the
// renderer's spec and waiting for the new tasks to run and answer; and Swarm's own rolling
// update with its defaults (`docker service update`, which waits for convergence: 10 s stop
// grace, 5 s monitor), one pinned service per node, all at once.
import { spawn } from 'node:child_process';
import { LABELS } from '../../src/core/labels';
import { renderService, serviceName } from '../../src/core/renderers/swarm';
import { waitFor } from '../support/deployer';
import { hostnameOf, manager, removeSwarmApplication, swarmNodes } from '../support/swarm';
import { answers, program, type Orchestrator, type Round } from './orchestrator';
import type { Bench } from './support';

function docker(host: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn('docker', ['-H', host, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (c) => (err += c));
    p.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`docker ${args.join(' ')}: ${err}`))));
  });
}

/** Swarm's own tooling with its defaults: `docker service update` (waits until the update converged) on every node's service at once. */
async function viaSwarmCli(b: Bench, { app, port, round, image }: Round): Promise<number> {
  const endpoint = b.d.inventory.swarms[0]!.managers[0]!;
  const host = 'host' in endpoint ? `tcp://${endpoint.host}:${endpoint.port}` : `unix://${endpoint.socketPath}`;
  const nodes = swarmNodes(b.d);
  const started = performance.now();
  await Promise.all(nodes.map(async (node) => {
    const name = serviceName(app, hostnameOf(node));
    // A new version is a new environment here (the registry holds one image); an image change rolls out the same way.
    if (round === 0) await docker(host, ['service', 'create', '--name', name, '--constraint', `node.hostname==${hostnameOf(node)}`, '--network', 'host', '--label', `${LABELS.application}=${app}`, '--env', `VERSION=${round}`, image, ...program(port)]);
    else await docker(host, ['service', 'update', '--env-add', `VERSION=${round}`, name]);
    await waitFor(`${name} answering`, () => answers(node.address, port), 60_000, 50);
  }));
  return performance.now() - started;
}

export function swarm(b: Bench): Orchestrator {
  const m = manager(b.d);
  return {
    name: 'swarm',
    nodesCalled: 'swarm nodes',
    appPrefix: 'bench-sw',
    port: 18590,
    nodes: swarmNodes,
    container: { restartPolicy: 'on-failure' },
    plainLabel: 'plain script (same service calls and spec)',
    // Inspect, then create or update with the same spec; runs once a running task carries the deployment's label.
    async apply(node, intent) {
      const { name, spec } = renderService(intent, hostnameOf(node));
      const current = await m.getService(name).inspect().catch(() => undefined);
      if (current === undefined) await m.createService(spec as never);
      else await m.getService(name).update({ _query: { version: current.Version.Index }, _body: spec } as never);
      return {
        name,
        async runs() {
          const tasks = (await m.listTasks({ filters: JSON.stringify({ service: [name], 'desired-state': ['running'] }) })) as { Status: { State: string }; Spec: { ContainerSpec?: { Labels?: Record<string, string> } } }[];
          return tasks.some((t) => t.Status.State === 'running' && t.Spec.ContainerSpec?.Labels?.[LABELS.deployment] === intent.deploymentId);
        },
      };
    },
    others: [{ tag: 'c', short: 'docker service update', label: "docker service update, Swarm's defaults", rollout: (r) => viaSwarmCli(b, r) }],
    remove: removeSwarmApplication,
  };
}
