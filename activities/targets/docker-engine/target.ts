// The Docker Engine target: a node that is one bare Docker Engine. Apply renders the intent
// into create bodies (src/core/renderers/docker-engine.ts), pulls the image if the node
// lacks it, creates the new containers with their files and secrets, stops the previous
// ones (kept, stopped, for a restore) and starts the new; the labels on the containers are
// the record of what replaced what, so every verb can be run again and needs no memory.
import { DeployerError } from '../../../src/core/errors';
import type { NodeIntent } from '../../../src/core/intent';
import { imageFor, normalizePlatform, platformName, type Platform } from '../../../src/core/platforms';
import { renderConfigCheck, renderContainers, renderTestContainer } from '../../../src/core/renderers/docker-engine';
import { LABELS } from '../../../src/core/labels';
import type { InventoryNode } from '../../../src/core/schemas/inventory';
import type { SecretProvider } from '../../control/secrets';
import { applyIntent, applyMark, type ApplyDriver, type Placed } from '../engine/apply';
import { oneShotVerbs } from '../engine/one-shots';
import { restoreNode } from '../engine/restore';
import { verifyNode, type Observer } from '../engine/verify';
import { execIn, runOnce } from './one-shot';
import type { Instance, Target } from '../target';
import { definesHealthcheck, execProbe } from './health';
import { createWithFiles, ensureImage, listManaged, removeContainers, startWithPolicy, stopForGood, type NodeContainer } from './containers';
import { engineError, statusOf, type Engines } from './engines';
import { reportProgress } from '../live-events';

const unique = (xs: readonly string[]) => [...new Set(xs)];

/** `docker ps` shows a HEALTHCHECK's state in the status line, e.g. "Up 5 seconds (unhealthy)". */
function healthOf(status: string): Instance['health'] {
  if (status.includes('(unhealthy)')) return 'unhealthy';
  if (status.includes('(health: starting)')) return 'starting';
  if (status.includes('(healthy)')) return 'healthy';
  return undefined;
}

const asInstance = (c: NodeContainer): Instance => ({
  name: c.name,
  application: c.application,
  version: c.version,
  deploymentId: c.deploymentId,
  running: c.running,
  state: c.state,
  ...(healthOf(c.status) !== undefined ? { health: healthOf(c.status)! } : {}),
});

export function dockerEngineTarget(engines: Engines, secrets: SecretProvider) {
  return (node: InventoryNode): Target => {
    if (node.target.kind !== 'docker-engine') throw new Error(`${node.id} is not a Docker Engine node`);
    const docker = engines.client(node.target.docker);
    const on = async <T>(what: string, call: () => Promise<T>): Promise<T> => {
      try {
        return await call();
      } catch (err) {
        if (err instanceof DeployerError) throw err;
        throw engineError(node.id, err, what);
      }
    };

    /** The platform the engine runs containers for, in OCI names. */
    async function nodePlatform(): Promise<Platform> {
      const info = await on('asking the engine', () => docker.info() as Promise<{ OSType?: string; Architecture?: string }>);
      return normalizePlatform({ os: info.OSType ?? 'unknown', architecture: info.Architecture ?? 'unknown' });
    }

    /**
     * The platforms an image is built for: from the node's own copy, or else asked of the
     * registry by the node's engine (GET /distribution/{name}/json: the manifest list, or the
     * manifest's config), which reaches the registry as a pull would. Empty when nobody can
     * say: the pull then says what is wrong.
     */
    async function imagePlatforms(image: string): Promise<Platform[]> {
      try {
        const local = await docker.getImage(image).inspect();
        return [normalizePlatform({ os: local.Os, architecture: local.Architecture, ...(local.Variant ? { variant: local.Variant } : {}) })];
      } catch (err) {
        if (statusOf(err) !== 404) throw engineError(node.id, err, `inspecting image ${image}`);
      }
      try {
        const remote = (await docker.getImage(image).distribution()) as { Platforms?: { os?: string; architecture?: string; variant?: string }[] };
        return (remote.Platforms ?? []).map(normalizePlatform);
      } catch {
        return [];
      }
    }

    /** One container as the verify loop sees it: its run, and whether it can still become healthy. */
    function observeContainer(name: string, intent: NodeIntent): Observer {
      const handle = docker.getContainer(name);
      const { probe, policy } = intent.health;
      /** The engine's word on the image's own HEALTHCHECK, as last observed. */
      let health: string | undefined;
      return {
        async observe() {
          const info = await on(`inspecting ${name}`, () => handle.inspect());
          const state = info.State;
          const running = state.Running && !state.Restarting;
          // A container running again after a restart reports exit code 0, not its last run's: said only when it is not running.
          const run = { id: name, running, startedAt: state.StartedAt, restartCount: info.RestartCount, status: state.Status, ...(running ? {} : { exitCode: state.ExitCode }) };
          // Exited and nothing will restart it: it can never become healthy, so waiting for the deadline is pointless.
          if (!run.running && !state.Restarting && (info.HostConfig.RestartPolicy?.Name ?? 'no') === 'no' && state.Status !== 'created') {
            return { runs: [run], ended: `container is ${state.Status} (exit code ${state.ExitCode}) and will not be restarted` };
          }
          // Without a HEALTHCHECK the engine never reports a health status, so waiting could not help.
          if (probe.kind === 'image' && !definesHealthcheck(info.Config.Healthcheck)) {
            return { runs: [run], ended: 'the image defines no HEALTHCHECK, so an image ("docker") health check can never pass' };
          }
          health = state.Health?.Status;
          return { runs: [run], ...(run.running ? {} : { waiting: `container is ${state.Status} (exit code ${state.ExitCode})` }) };
        },
        async inside() {
          if (probe.kind === 'exec') return execProbe(handle, probe.command, policy.timeoutMs);
          if (probe.kind === 'image') return health === 'healthy' ? undefined : `Docker health status is ${health ?? 'not reported yet'}`;
          return undefined;
        },
      };
    }

    /** The application's containers, as the engine's apply and restore see them. */
    const placed = async (application: string): Promise<Placed[]> =>
      (await on('listing containers', () => listManaged(docker, application))).map((c) => ({ name: c.name, deploymentId: c.deploymentId, ...(c.mark !== undefined ? { mark: c.mark } : {}), running: c.running, replaced: c.previous }));

    /** One-shot containers a deployment left behind (a check or test cut short by a crash). */
    async function removeOneShots(deploymentId: string): Promise<void> {
      const list = await docker.listContainers({ all: true, filters: JSON.stringify({ label: [LABELS.role, `${LABELS.deployment}=${deploymentId}`] }) });
      await removeContainers(docker, list.map((c) => c.Id));
    }

    return {
      ...oneShotVerbs(node, {
        platform: nodePlatform,
        runOnce: (intent, test) =>
          test === undefined ? runOnce(docker, node.id, renderConfigCheck(intent), secrets, intent.configCheck!.timeoutMs) : runOnce(docker, node.id, renderTestContainer(intent, test, node.address), secrets, test.timeoutMs),
        exec: (intent, test) => execIn(docker.getContainer(renderContainers(intent, [])[0]!.name), test.command, test.timeoutMs),
      }, secrets),

      async apply(planned, step) {
        const driver: ApplyDriver<Placed> = {
          platform: nodePlatform,
          imagePlatforms,
          portHolders: async () => (await on('listing containers', () => listManaged(docker))).filter((c) => c.running).map((c) => ({ application: c.application, deploymentId: c.deploymentId, ports: c.ports })),
          names: (intent) => renderContainers(intent, []).map((c) => c.name),
          placed,
          async converge(intent, { platform, mark, placed: existing }, report) {
            const ours = existing.filter((c) => c.deploymentId === intent.deploymentId);
            // Run again after a crash, this finds its own containers: what they replaced is in their labels.
            const replaced = unique([...ours.flatMap((c) => c.replaced), ...existing.filter((c) => c.running && c.deploymentId !== intent.deploymentId).map((c) => c.name)]);
            const containers = renderContainers(intent, replaced, mark);
            report('Configuring', `${containers.length} container(s) for ${platformName(platform)}, ${intent.files.length} file(s), ${Object.keys(intent.env).length} env var(s)`);
            reportProgress(`pulling ${intent.image} (unless the node has it)`);
            const pulled = await ensureImage(docker, node.id, intent.image);
            report('Deploying', pulled ? `pulled ${intent.image}` : `${intent.image} is on the node`);
            for (const c of containers) await createWithFiles(docker, node.id, c, secrets);
            if (replaced.length > 0) {
              await on(`stopping ${replaced.join(', ')}`, () => stopForGood(docker, replaced));
              report('Deploying', `stopped previous ${replaced.join(', ')}`);
            }
            for (const c of containers) await on(`starting ${c.name}`, () => startWithPolicy(docker, c.name));
            const instances = containers.map((c) => c.name);
            report('Deploying', `container started: ${instances.join(', ')}`);
            return { instances, replaced };
          },
        };
        return applyIntent(node.id, planned, driver, step, applyMark());
      },

      async verify(planned, step, stillThere) {
        const intent = { ...planned, image: imageFor(planned, await nodePlatform(), node.id) };
        return verifyNode({ node, intent, stillThere }, async () => renderContainers(intent, []).map((c) => [c.name, observeContainer(c.name, intent)] as const), step);
      },

      async restore(ref) {
        return on(`restoring ${ref.application}`, () =>
          restoreNode(ref, {
            placed,
            // Ours are stopped first and removed last: until then their labels still say what
            // they replaced, so a restore cut short by a crash and run again still knows.
            withdraw: (c) => stopForGood(docker, [c.name]),
            restart: async (c) => (await startWithPolicy(docker, c.name), true),
            async finish({ deploymentId }, { withdrawn }) {
              await removeContainers(docker, withdrawn.map((c) => c.name));
              await removeOneShots(deploymentId);
            },
          }),
        );
      },

      async retire({ application, deploymentId }) {
        return on(`retiring older containers of ${application}`, async () => {
          const containers = await listManaged(docker, application);
          const ours = containers.filter((c) => c.deploymentId === deploymentId);
          const keep = new Set([...ours.map((c) => c.name), ...ours.flatMap((c) => c.previous)]);
          const older = containers.filter((c) => !keep.has(c.name));
          await removeContainers(docker, older.map((c) => c.id));
          return older.map((c) => c.name);
        });
      },

      async stop({ application, names }) {
        await on(`stopping ${application}`, () => stopForGood(docker, names));
        return [...names];
      },

      async remove({ application }) {
        return on(`removing ${application}`, async () => {
          const containers = await listManaged(docker, application);
          await removeContainers(docker, containers.map((c) => c.id));
          return containers.map((c) => c.name);
        });
      },

      async describe() {
        return { ready: true, platform: await nodePlatform() };
      },

      async locate(application) {
        const containers = await on('listing containers', () => listManaged(docker, application));
        return containers.map(asInstance);
      },
    };
  };
}
