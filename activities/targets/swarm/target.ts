// The Swarm target: a node that is a member of a Docker Swarm. The Deployer talks only to the
// swarm's managers (Engine API service endpoints through dockerode); each application has
// one service per node, placed there by the node's hostname (src/core/renderers/swarm.ts).
// Apply creates or updates that service (Swarm keeps the spec it replaced), verify waits for
// the service's tasks at the new spec to run and stay running and for the request's health
// check on the node's address, restore puts the previous spec back or removes a service that
// this deployment created. The configuration check and test containers run as one-shot
// services (replicated jobs) on the node; an exec test runs in a task's container through the
// node's own engine, when the inventory names it (a manager cannot exec on another node).
// The labels on the services are the record of what runs where, so every verb can be run
// again and needs no memory.
import { Context } from '@temporalio/activity';
import type Docker from 'dockerode';
import { DeployerError, EngineUnreachableError, InvalidInventoryError, NotOwnedError } from '../../../src/core/errors';
import type { ExecTest, RunOutput } from '../../../src/core/deployment-tests';
import type { NodeIntent } from '../../../src/core/intent';
import { LABELS } from '../../../src/core/labels';
import { swarmObjectRefusal, swarmServiceRefusal } from '../../../src/core/ownership';
import { normalizePlatform, platformName, type Platform } from '../../../src/core/platforms';
import { renderService, renderSwarmConfigCheck, renderSwarmTestService, serviceName, SWARM_LABELS, type SwarmConfigBody, type SwarmJob, type SwarmSecretBody, type SwarmServiceSpec } from '../../../src/core/renderers/swarm';
import type { Inventory, InventoryNode, Swarm } from '../../../src/core/schemas/inventory';
import type { NodeStatus } from '../../../src/core/node-facts';
import { heartbeat } from '../../control/heartbeat';
import type { SecretProvider } from '../../control/secrets';
import { engineError, statusOf, type Engines } from '../docker-engine/engines';
import { demuxLog, execIn } from '../docker-engine/one-shot';
import { claimVolumes, mountedVolumes } from '../docker-engine/volumes';
import { applyIntent, applyMark, type ApplyDriver, type Placed } from '../engine/apply';
import { oneShotVerbs } from '../engine/one-shots';
import { restoreNode } from '../engine/restore';
import { verifyNode, type Observer } from '../engine/verify';
import type { Instance, Target } from '../target';

interface ServiceView {
  ID: string;
  Version: { Index: number };
  UpdateStatus?: { State?: string };
  Spec: SwarmServiceSpec;
  PreviousSpec?: SwarmServiceSpec;
}

interface TaskView {
  ID: string;
  NodeID?: string;
  DesiredState: string;
  Spec: { ContainerSpec?: { Labels?: Record<string, string> } };
  Status: { State: string; Err?: string; Message?: string; ContainerStatus?: { ContainerID?: string; ExitCode?: number } };
  CreatedAt: string;
}

interface NodeView {
  Description?: { Hostname?: string; Platform?: { OS?: string; Architecture?: string } };
  Status?: { State?: string; Message?: string };
  Spec?: { Availability?: string };
}

const deploymentOf = (s: { Spec: SwarmServiceSpec }) => s.Spec.Labels[LABELS.deployment] ?? '';
const replicasOf = (s: { Spec: SwarmServiceSpec }) => s.Spec.Mode?.Replicated?.Replicas ?? 0;
const taskDeployment = (t: TaskView) => t.Spec.ContainerSpec?.Labels?.[LABELS.deployment];
/**
 * The apply a task belongs to: a Retry applies the same deployment again after a restore,
 * and the tasks of its first attempt (shut down by that restore) must not count as its own.
 */
const applyOf = (labels: Record<string, string> | undefined) => labels?.[LABELS.apply];
/** What a restore puts back in place: the service's previous spec, when another deployment made it. */
const revertsTo = (s: ServiceView) => (s.PreviousSpec !== undefined && s.PreviousSpec.Labels[LABELS.deployment] !== deploymentOf(s) ? [s.Spec.Name] : []);

/** A service of the application, as the engine's apply and restore see it. */
interface PlacedService extends Placed {
  service: ServiceView;
}

/** Task states from which a task never runs again: Swarm replaces it by a new one. */
const ENDED = new Set(['complete', 'failed', 'shutdown', 'rejected', 'orphaned', 'remove']);

/** Task states before its container runs: what a one-shot task's timeout does not count (pulling its image, above all). */
const BEFORE_START = new Set(['new', 'pending', 'assigned', 'accepted', 'preparing', 'ready']);

/**
 * How long a one-shot task may take to start: scheduled, its image pulled, its container
 * created. Its own timeout counts from then, as a Docker Engine's counts after the pull.
 */
const START_MS = 180_000;

/** Something the manager said, without dockerode's "(HTTP code …) …" wrapping. */
const managerSays = (err: unknown) => (err as { json?: { message?: string } }).json?.message ?? (err as Error).message ?? String(err);

/** Clients of each swarm's managers; the first one that answers serves the call. */
export class SwarmManagers {
  constructor(private readonly engines: Engines) {}

  swarmOf(node: InventoryNode, inventory: Inventory): Swarm {
    if (node.target.kind !== 'swarm') throw new Error(`${node.id} is not a Swarm node`);
    const name = node.target.swarm;
    const swarm = inventory.swarms.find((s) => s.id === name);
    if (swarm === undefined) throw new InvalidInventoryError(`node ${node.id} names swarm '${name}', which the inventory lacks`);
    return swarm;
  }

  /** Runs `call` on the first manager that can be reached. */
  async call<T>(swarm: Swarm, nodeId: string, what: string, call: (manager: Docker) => Promise<T>): Promise<T> {
    let last: unknown;
    for (const endpoint of swarm.managers) {
      try {
        return await call(this.engines.client(endpoint));
      } catch (err) {
        if (err instanceof DeployerError) throw err;
        const named = engineError(nodeId, err, what);
        if (!(named instanceof EngineUnreachableError)) throw named;
        last = err;
      }
    }
    throw new EngineUnreachableError(nodeId, { cause: last, detail: `no manager of swarm ${swarm.id} answers` });
  }
}


/** The IDs of the configs and secrets a service spec references. */
function referencedIds(spec: SwarmServiceSpec | undefined): string[] {
  const container = spec?.TaskTemplate.ContainerSpec as { Configs?: { ConfigID?: string }[]; Secrets?: { SecretID?: string }[] } | undefined;
  const ids = [...(container?.Configs ?? []).map((c) => c.ConfigID), ...(container?.Secrets ?? []).map((x) => x.SecretID)];
  return ids.filter((id): id is string => id !== undefined);
}

export function swarmTarget(engines: Engines, secrets: SecretProvider) {
  const managers = new SwarmManagers(engines);
  return (node: InventoryNode, inventory: Inventory): Target => {
    if (node.target.kind !== 'swarm') throw new Error(`${node.id} is not a Swarm node`);
    const hostname = node.target.hostname;
    const swarm = managers.swarmOf(node, inventory);
    const on = <T>(what: string, call: (manager: Docker) => Promise<T>) => managers.call(swarm, node.id, what, call);

    /** The services the Deployer placed on this node: of one application, or of all. */
    async function services(application?: string): Promise<ServiceView[]> {
      const label = [`${LABELS.managed}=true`, `${SWARM_LABELS.node}=${hostname}`, ...(application !== undefined ? [`${LABELS.application}=${application}`] : [])];
      return on('listing services', (m) => m.listServices({ filters: JSON.stringify({ label }) }) as unknown as Promise<ServiceView[]>);
    }

    async function service(name: string): Promise<ServiceView | undefined> {
      return on(`inspecting service ${name}`, async (m) => {
        try {
          return (await m.getService(name).inspect()) as ServiceView;
        } catch (err) {
          if (statusOf(err) === 404) return undefined;
          throw err;
        }
      });
    }

    /**
     * The service of `name` when there is one and it is `application`'s: a service of the name
     * that is not (src/core/ownership.ts) is never updated or removed, and the verb fails.
     */
    async function ownService(name: string, application: string): Promise<ServiceView | undefined> {
      const found = await service(name);
      const refusal = found === undefined ? undefined : swarmServiceRefusal(swarm.id, application, { name, labels: found.Spec.Labels ?? {} });
      if (refusal !== undefined) throw new NotOwnedError(node.id, `service ${name}`, refusal);
      return found;
    }

    async function tasks(name: string): Promise<TaskView[]> {
      return on(`listing tasks of ${name}`, (m) => m.listTasks({ filters: JSON.stringify({ service: [name] }) }) as Promise<TaskView[]>);
    }

    async function update(s: ServiceView, spec: SwarmServiceSpec): Promise<void> {
      await on(`updating service ${s.Spec.Name}`, (m) => m.getService(s.ID).update({ _query: { version: s.Version.Index }, _body: spec } as never));
    }

    /**
     * Waits until the service's last update is carried out: Swarm's update no longer in
     * progress, and every task it ordered down actually stopped (or the node is down: see below). An update made while the one
     * before is still stopping tasks does not wait for those (Swarm cancels the older update),
     * so its new task would find a host port still held and never run.
     */
    async function settled(name: string, timeoutMs: number): Promise<ServiceView | undefined> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const s = await service(name);
        // A removed service's tasks go with it; the manager no longer lists them.
        if (s === undefined) return undefined;
        const busy = s?.UpdateStatus?.State === 'updating' || s?.UpdateStatus?.State === 'rollback_started';
        const stopping = (await tasks(name)).filter((t) => t.DesiredState !== 'running' && t.DesiredState !== 'ready' && !ENDED.has(t.Status.State));
        if (!busy && stopping.length === 0) return s;
        // A node the swarm reports down carries out nothing until it is back. What counts
        // then is the spec the manager holds, which the node runs once it is back: waiting
        // longer would only make the outcome depend on how long the node stays away.
        if (!(await member()).ready) return s;
        if (Date.now() > deadline) {
          throw new Error(`service ${name} on ${node.id} did not settle within ${timeoutMs} ms (${busy ? 'update in progress' : `${stopping.length} task(s) still stopping`})`);
        }
        heartbeat({ service: name, settling: true });
        await new Promise((r) => setTimeout(r, 200));
      }
    }

    /** How long stopping a service's tasks may take: their grace period, and some. */
    const settleMs = (s: { Spec: SwarmServiceSpec }) => Number((s.Spec.TaskTemplate.ContainerSpec as { StopGracePeriod?: number }).StopGracePeriod ?? 10e9) / 1e6 + 30_000;

    /** The node as the swarm sees it: a Ready, active member, and its platform. */
    async function member(): Promise<NodeStatus & { platform?: Platform }> {
      const list = (await on('listing swarm nodes', (m) => m.listNodes({ filters: JSON.stringify({ name: [hostname] }) }))) as NodeView[];
      const n = list.find((x) => x.Description?.Hostname === hostname);
      if (n === undefined) return { ready: false, detail: `swarm ${swarm.id} has no node with hostname ${hostname}` };
      const platform = normalizePlatform({ os: n.Description?.Platform?.OS, architecture: n.Description?.Platform?.Architecture });
      const state = n.Status?.State ?? 'unknown';
      const availability = n.Spec?.Availability ?? 'unknown';
      if (state !== 'ready' || availability !== 'active') {
        return { ready: false, detail: `swarm node ${hostname} is ${state}, availability ${availability}${n.Status?.Message ? ` (${n.Status.Message})` : ''}`, platform };
      }
      return { ready: true, platform };
    }

    /** The platforms an image is built for, as the registry tells a manager; empty when nobody can say. */
    async function imagePlatforms(image: string): Promise<Platform[]> {
      try {
        const remote = (await on(`asking the registry about ${image}`, (m) => m.getImage(image).distribution())) as { Platforms?: { os?: string; architecture?: string; variant?: string }[] };
        return (remote.Platforms ?? []).map(normalizePlatform);
      } catch {
        return [];
      }
    }

    /**
     * The node's own engine, where a task's named volumes live: a manager cannot create one
     * there or say whose one is, so the Deployer claims them through it before a service
     * mounts them. Checked to be this node's, so that the claim is made where the task runs.
     */
    async function volumeEngine(): Promise<Docker> {
      if (node.target.kind !== 'swarm' || node.target.engine === undefined) {
        throw new InvalidInventoryError(`named volumes on ${node.id}: the inventory names no engine for it, and the Deployer creates a volume and checks whose it is through the node's own Docker Engine before a service mounts it; add "engine" (an endpoint, as a docker-engine target's "docker") to its target`);
      }
      const engine = engines.client(node.target.engine);
      let info: { Name?: string };
      try {
        info = (await engine.info()) as typeof info;
      } catch (err) {
        throw engineError(node.id, err, "asking the node's own engine");
      }
      // The engine's name is the host name the swarm knows its node by.
      if (info.Name !== hostname) throw new InvalidInventoryError(`the engine the inventory names for ${node.id} is not swarm node ${hostname}'s (it is host ${info.Name ?? 'unknown'}'s): correct its target's "engine"`);
      return engine;
    }

    /**
     * Claims the named volumes the service mounts on the node (as a Docker Engine's containers
     * do), makes the configs and secrets it references unless this deployment made them
     * already (they are immutable, named per deployment), and returns the spec with their ids,
     * which Swarm wants beside their names. A volume, config or secret of that name that is not
     * the deployment's own is refused, never mounted or referenced.
     */
    async function withObjects<S extends SwarmServiceSpec | SwarmJob['spec']>(rendered: { spec: S; configs: SwarmConfigBody[]; secrets: SwarmSecretBody[] }): Promise<S> {
      const volumes = mountedVolumes((rendered.spec.TaskTemplate.ContainerSpec as { Mounts?: { Type: string; Source: string }[] }).Mounts);
      if (volumes.length > 0) {
        const engine = await volumeEngine();
        try {
          await claimVolumes(engine, node.id, rendered.spec.Labels[LABELS.application]!, volumes);
        } catch (err) {
          if (err instanceof DeployerError) throw err;
          throw engineError(node.id, err, 'claiming named volumes');
        }
      }
      const ids = new Map<string, string>();
      const make = async (kind: 'config' | 'secret', name: string, labels: Record<string, string>, data: () => Promise<Buffer>) => {
        const owner = { application: labels[LABELS.application]!, deploymentId: labels[LABELS.deployment]! };
        ids.set(name, await on(`creating ${kind} ${name}`, async (m) => {
          const existing = async () => {
            const list = (await (kind === 'config' ? m.listConfigs({ filters: JSON.stringify({ name: [name] }) }) : m.listSecrets({ filters: JSON.stringify({ name: [name] }) }))) as { ID: string; Spec?: { Name?: string; Labels?: Record<string, string> } }[];
            const found = list.find((x) => x.Spec?.Name === name);
            if (found === undefined) return undefined;
            const refusal = swarmObjectRefusal(swarm.id, owner, { kind, name, labels: found.Spec?.Labels ?? {} });
            if (refusal !== undefined) throw new NotOwnedError(node.id, `${kind} ${name}`, refusal);
            return found.ID;
          };
          const found = await existing();
          if (found !== undefined) return found;
          const body = { Name: name, Labels: labels, Data: (await data()).toString('base64') };
          try {
            const made = (await (kind === 'config' ? m.createConfig(body) : m.createSecret(body))) as { id?: string; ID?: string };
            return made.id ?? made.ID ?? '';
          } catch (err) {
            // Another node of the same deployment made it meanwhile.
            if (statusOf(err) === 409) {
              const raced = await existing();
              if (raced !== undefined) return raced;
            }
            throw err;
          }
        }));
      };
      for (const c of rendered.configs) await make('config', c.Name, c.Labels, async () => Buffer.from(c.content, 'utf8'));
      // A secret's value is resolved here and only here: it goes to the swarm's encrypted store, never into a label or a log.
      for (const x of rendered.secrets) await make('secret', x.Name, x.Labels, () => secrets.resolve(x.ref));
      const spec = rendered.spec;
      const container = spec.TaskTemplate.ContainerSpec as { Configs?: { ConfigName: string; ConfigID?: string }[]; Secrets?: { SecretName: string; SecretID?: string }[] };
      return {
        ...spec,
        TaskTemplate: {
          ...spec.TaskTemplate,
          ContainerSpec: {
            ...spec.TaskTemplate.ContainerSpec,
            ...(container.Configs !== undefined ? { Configs: container.Configs.map((c) => ({ ...c, ConfigID: ids.get(c.ConfigName)! })) } : {}),
            ...(container.Secrets !== undefined ? { Secrets: container.Secrets.map((x) => ({ ...x, SecretID: ids.get(x.SecretName)! })) } : {}),
          },
        },
      };
    }

    /**
     * Removes the application's configs and secrets that no service of it on any node still
     * references, in its spec or its previous spec: a restore after this node's retire (an
     * operator's rollback of a paused deployment) goes back to the previous spec, which
     * names them. A one-shot service (a check or test running on another node) is a service of
     * the application too. The manager refuses to remove one a current spec uses; that race
     * is harmless. A test container's secrets go here once its service is gone.
     */
    async function pruneObjects(application: string): Promise<void> {
      const label = [`${LABELS.managed}=true`, `${LABELS.application}=${application}`];
      await on(`pruning configs and secrets of ${application}`, async (m) => {
        const [all, configs, secretList] = await Promise.all([
          m.listServices({ filters: JSON.stringify({ label: [`${LABELS.application}=${application}`] }) }) as unknown as Promise<ServiceView[]>,
          m.listConfigs({ filters: JSON.stringify({ label }) }),
          m.listSecrets({ filters: JSON.stringify({ label }) }),
        ]);
        const used = new Set(all.flatMap((v) => [v.Spec, v.PreviousSpec].flatMap(referencedIds)));
        for (const c of configs) if (!used.has(c.ID)) await m.getConfig(c.ID).remove().catch(() => undefined);
        for (const x of secretList) if (!used.has(x.ID)) await m.getSecret(x.ID).remove().catch(() => undefined);
      });
    }

    /** The service's tasks of this apply as the verify loop sees them: a run each, wanted `replicas` of them running. */
    async function observeService(intent: NodeIntent, name: string): Promise<Observer> {
      const attempt = applyOf((await service(name))?.Spec.TaskTemplate.ContainerSpec.Labels as Record<string, string> | undefined);
      return {
        async observe() {
          const ours = (await tasks(name)).filter((t) => taskDeployment(t) === intent.deploymentId && applyOf(t.Spec.ContainerSpec?.Labels) === attempt);
          const runs = ours.map((t) => ({
            id: `task ${t.ID}`,
            running: t.DesiredState === 'running' && t.Status.State === 'running',
            startedAt: t.CreatedAt,
            restartCount: 0,
            // As `docker service ps` says it: state, and Swarm's own words.
            status: `${t.Status.State}${t.Status.Err ? `: ${t.Status.Err}` : ''}`,
            ...(t.Status.ContainerStatus?.ExitCode !== undefined ? { exitCode: t.Status.ContainerStatus.ExitCode } : {}),
          }));
          // Refused by the swarm, or ended before it ever ran with nothing to replace it (its restart policy says no): it never will.
          const refused = ours.find((t) => t.Status.State === 'failed' || t.Status.State === 'rejected');
          const ended = refused ?? (ours.length > 0 && ours.every((t) => ENDED.has(t.Status.State) && t.DesiredState !== 'running') ? ours[0] : undefined);
          if (ended !== undefined) {
            const why = ended.Status.Err ?? ended.Status.Message ?? ended.Status.State;
            const code = ended.Status.ContainerStatus?.ExitCode;
            return { runs, ended: `a task ${ended.Status.State === 'rejected' ? 'was rejected' : `ended ${ended.Status.State}`}: ${why}${code !== undefined && code !== 0 ? ` (exit code ${code})` : ''}` };
          }
          const running = runs.filter((r) => r.running).length;
          if (running >= intent.replicas) return { runs };
          const others = [...new Set(ours.filter((t) => t.Status.State !== 'running').map((t) => `${t.Status.State}${t.DesiredState !== 'running' ? ` (desired ${t.DesiredState})` : ''}${t.Status.Err ? `: ${t.Status.Err}` : ''}`))];
          return { runs, waiting: `${running} of ${intent.replicas} task(s) running${others.length > 0 ? ` (others ${others.join('; ')})` : ours.length === 0 ? ' (no task of this deployment yet)' : ''}` };
        },
        // A node that left the swarm, or whose engine stopped, will not run them: said rather than waiting for the deadline.
        nodeProblem: async () => {
          const status = await member();
          return status.ready ? undefined : (status.detail ?? 'not ready');
        },
      };
    }

    /** Removes a service if it exists; its tasks go with it. */
    async function removeService(idOrName: string): Promise<void> {
      await on(`removing service ${idOrName}`, async (m) => {
        try {
          await m.getService(idOrName).remove();
        } catch (err) {
          if (statusOf(err) !== 404) throw err;
        }
      });
    }

    /** One-shot services left on this node by a check or test cut short (a crash), by their labels. */
    async function removeOneShots(labels: string[]): Promise<void> {
      const list = (await on('listing one-shot services', (m) => m.listServices({ filters: JSON.stringify({ label: [LABELS.role, `${SWARM_LABELS.node}=${hostname}`, ...labels] }) }))) as unknown as ServiceView[];
      for (const s of list) await removeService(s.ID);
    }

    /** What a one-shot service's task printed, stdout and stderr as they came; read before the service is removed, which takes its task's container. */
    async function jobOutput(id: string): Promise<string> {
      const log = await on(`reading the logs of service ${id}`, (m) => m.getService(id).logs({ stdout: true, stderr: true, follow: false }) as unknown as Promise<Buffer>);
      return Buffer.isBuffer(log) ? demuxLog(log) : String(log ?? '');
    }

    /**
     * Runs a one-shot service to its end: its task starts within START_MS and ends within
     * `timeoutMs` after; its exit code and output. A leftover of an earlier attempt is removed
     * first (a service of the name that is not the application's is refused, and stays), and
     * this one afterwards, whatever happened; its configs and secrets stay for
     * pruneObjects (the application's service uses the configs too). A service or task the
     * swarm refuses (a rejected spec, an image the node cannot pull, a command that cannot
     * start) is the run's problem; managers that cannot be reached fail the call.
     */
    async function runJob(job: SwarmJob, timeoutMs: number): Promise<RunOutput> {
      const application = job.spec.Labels[LABELS.application]!;
      const removeOwn = async () => {
        if ((await ownService(job.name, application)) !== undefined) await removeService(job.name);
      };
      await removeOwn();
      let made: { id: string } | { problem: string } | undefined;
      try {
        const spec = await withObjects(job);
        made = await on(`creating service ${job.name}`, async (m): Promise<{ id: string } | { problem: string }> => {
          try {
            return { id: ((await m.createService(spec as never)) as { id: string }).id };
          } catch (err) {
            if (statusOf(err) === undefined) throw err;
            return { problem: `the swarm refused the service: ${managerSays(err)}` };
          }
        });
        if (!('id' in made)) return { output: '', problem: made.problem };
        const { id } = made;
        const created = Date.now();
        let started: number | undefined;
        for (;;) {
          const [task] = await tasks(id);
          const state = task?.Status.State ?? 'new';
          heartbeat({ service: job.name, state });
          if (task !== undefined && ENDED.has(state)) {
            const output = await jobOutput(id);
            const { ContainerStatus: container, Message: stage, Err: why } = task.Status;
            // A job's task that ran ends "complete" (exit 0) or "failed" at stage "started"; one that failed before never ran its command.
            if (state === 'complete') return { exitCode: container?.ExitCode ?? 0, output };
            if (state === 'failed' && stage === 'started' && container?.ExitCode !== undefined) return { exitCode: container.ExitCode, output };
            return { output, problem: `its task ${state === 'rejected' ? 'was rejected' : `ended ${state}`} before it ran: ${why ?? stage ?? state}` };
          }
          if (started === undefined && !BEFORE_START.has(state)) started = Date.now();
          if (started === undefined && Date.now() - created > START_MS) {
            return { output: '', problem: `its task did not start within ${START_MS} ms (${state}${task?.Status.Err !== undefined ? `: ${task.Status.Err}` : task?.Status.Message !== undefined ? `: ${task.Status.Message}` : ''})` };
          }
          if (started !== undefined && Date.now() - started > timeoutMs) return { output: await jobOutput(id), problem: `it did not finish within ${timeoutMs} ms` };
          await Context.current().sleep(200);
        }
      } finally {
        // By its id once made: a service of the name someone else made meanwhile is not this run's.
        if (made !== undefined && 'id' in made) await removeService(made.id);
        else await removeOwn();
      }
    }

    /**
     * An exec test, in the container of one of this deployment's running tasks on the node:
     * through the node's own engine, since a manager cannot exec into a container on
     * another node.
     */
    async function execInTask(intent: NodeIntent, test: ExecTest): Promise<RunOutput> {
      if (node.target.kind !== 'swarm' || node.target.engine === undefined) {
        return { output: '', problem: `could not run: the inventory names no engine for ${node.id}, and an exec test runs in a task's container through the node's own Docker Engine: add "engine" (an endpoint, as a docker-engine target's "docker") to its target` };
      }
      const name = serviceName(intent.application, hostname);
      const running = (await tasks(name)).find((t) => taskDeployment(t) === intent.deploymentId && t.DesiredState === 'running' && t.Status.State === 'running');
      const id = running?.Status.ContainerStatus?.ContainerID;
      if (running === undefined || id === undefined || id === '') return { output: '', problem: `could not run: service ${name} has no running task of this deployment to exec in` };
      const engine = engines.client(node.target.engine);
      let info: { Swarm?: { NodeID?: string } };
      try {
        info = (await engine.info()) as typeof info;
      } catch (err) {
        const named = engineError(node.id, err, "asking the node's own engine");
        if (named instanceof EngineUnreachableError) throw named;
        return { output: '', problem: `could not run: the node's own engine says ${managerSays(err)}` };
      }
      // An inventory naming another node's engine would exec nowhere: say so rather than "no such container".
      if (info.Swarm?.NodeID !== running.NodeID) return { output: '', problem: `could not run: the engine the inventory names for ${node.id} is not swarm node ${hostname}'s (its swarm node id is ${info.Swarm?.NodeID || 'none'}, the task's ${running.NodeID ?? 'unknown'})` };
      return execIn(engine.getContainer(id), test.command, test.timeoutMs);
    }

    /** The node's platform; the node must be a Ready member to run anything. */
    async function readyPlatform(): Promise<Platform> {
      const status = await member();
      if (!status.ready) throw new EngineUnreachableError(node.id, { detail: status.detail });
      return status.platform!;
    }

    const placed = async (application: string): Promise<PlacedService[]> =>
      (await services(application)).map((s) => {
        const mark = applyOf(s.Spec.TaskTemplate.ContainerSpec.Labels as Record<string, string> | undefined);
        return { name: s.Spec.Name, deploymentId: deploymentOf(s), ...(mark !== undefined ? { mark } : {}), running: replicasOf(s) > 0, replaced: revertsTo(s), service: s };
      });

    const asInstance = async (s: ServiceView): Promise<Instance> => {
      const running = (await tasks(s.Spec.Name)).filter((t) => t.DesiredState === 'running' && t.Status.State === 'running' && taskDeployment(t) === deploymentOf(s)).length;
      const wanted = replicasOf(s);
      return {
        name: s.Spec.Name,
        application: s.Spec.Labels[LABELS.application] ?? '',
        version: s.Spec.Labels[LABELS.version] ?? '',
        deploymentId: deploymentOf(s),
        running: wanted > 0 && running > 0,
        state: wanted === 0 ? 'stopped' : `${running}/${wanted} running`,
      };
    };

    return {
      ...oneShotVerbs(node, {
        platform: readyPlatform,
        runOnce: (intent, test) =>
          test === undefined ? runJob(renderSwarmConfigCheck(intent, hostname), intent.configCheck!.timeoutMs) : runJob(renderSwarmTestService(intent, test, hostname, node.address), test.timeoutMs),
        exec: execInTask,
      }, secrets),

      async apply(planned, step) {
        const driver: ApplyDriver<PlacedService> = {
          // Checked before anything on the node is touched: membership, platform, host ports.
          platform: readyPlatform,
          imagePlatforms,
          portHolders: async () =>
            (await services()).filter((s) => replicasOf(s) > 0).map((s) => ({ application: s.Spec.Labels[LABELS.application] ?? '', deploymentId: deploymentOf(s), ports: (s.Spec.Labels[LABELS.ports] ?? '').split(',').filter(Boolean) })),
          names: (intent) => [serviceName(intent.application, hostname)],
          placed,
          async converge(intent, { platform, mark }, report) {
            const rendered = renderService(intent, hostname);
            report('Configuring', `service ${rendered.name} for ${platformName(platform)}: ${intent.replicas} task(s), ${rendered.configs.length} config(s), ${rendered.secrets.length} secret(s)`);
            const found = await ownService(rendered.name, intent.application);
            // What an earlier update (a restore, or this apply cut short) still stops must be gone first.
            const current = found !== undefined ? await settled(found.Spec.Name, settleMs(found)) : undefined;
            // Already at this deployment from an earlier run whose restore did not get the node
            // back: updated again, Swarm would forget the spec a restore goes back to (it keeps
            // one), so the service stays as it is.
            if (current !== undefined && deploymentOf(current) === intent.deploymentId) {
              report('Deploying', `service ${rendered.name} is at this deployment`);
              return { instances: [rendered.name], replaced: revertsTo(current) };
            }
            const withIds = await withObjects(rendered);
            const container = withIds.TaskTemplate.ContainerSpec as { Labels: Record<string, string> };
            const spec = { ...withIds, TaskTemplate: { ...withIds.TaskTemplate, ContainerSpec: { ...container, Labels: { ...container.Labels, [LABELS.apply]: mark } } } };
            if (current === undefined) {
              await on(`creating service ${rendered.name}`, (m) => m.createService(spec as never));
              report('Deploying', `service ${rendered.name} created`);
              return { instances: [rendered.name], replaced: [] };
            }
            await update(current, spec);
            report('Deploying', `service ${rendered.name} updated from deployment ${deploymentOf(current)}`);
            return { instances: [rendered.name], replaced: [rendered.name] };
          },
        };
        return applyIntent(node.id, planned, driver, step, applyMark());
      },

      async verify(intent, step, stillThere) {
        // The image plays no part here: what runs was chosen by apply.
        const name = serviceName(intent.application, hostname);
        return verifyNode({ node, intent, stillThere, before: 'the tasks to run' }, async () => [[name, await observeService(intent, name)]], step);
      },

      async restore(ref) {
        return restoreNode(ref, {
          placed,
          async withdraw({ service: s }) {
            if (revertsTo(s).length > 0) await update(s, s.PreviousSpec!);
            else await on(`removing service ${s.Spec.Name}`, (m) => m.getService(s.ID).remove());
          },
          async restart({ service: s }) {
            const { [SWARM_LABELS.stoppedReplicas]: replicas, ...labels } = s.Spec.Labels;
            if (replicas === undefined) return false;
            await update(s, { ...s.Spec, Labels: labels, Mode: { Replicated: { Replicas: Number(replicas) } } });
            return true;
          },
          async finish({ application, deploymentId }) {
            // Back as it was only once the previous tasks replaced the new ones.
            for (const s of await services(application)) await settled(s.Spec.Name, settleMs(s));
            // Before the prune: the configs and secrets they reference could not go.
            await removeOneShots([`${LABELS.deployment}=${deploymentId}`]);
            await pruneObjects(application);
          },
        });
      },

      async retire({ application }) {
        // Swarm replaced the older tasks itself; what is left are configs and secrets no spec references.
        await pruneObjects(application);
        return [];
      },

      async stop({ application, names }) {
        for (const s of await services(application)) {
          if (!names.includes(s.Spec.Name) || replicasOf(s) === 0) continue;
          // Scaled to 0, not removed: the spec stays for a restore, which scales it back.
          await update(s, { ...s.Spec, Labels: { ...s.Spec.Labels, [SWARM_LABELS.stoppedReplicas]: String(replicasOf(s)) }, Mode: { Replicated: { Replicas: 0 } } });
          await settled(s.Spec.Name, settleMs(s));
        }
        return [...names];
      },

      async remove({ application }) {
        const gone: string[] = [];
        for (const s of await services(application)) {
          await on(`removing service ${s.Spec.Name}`, (m) => m.getService(s.ID).remove());
          gone.push(s.Spec.Name);
        }
        await removeOneShots([`${LABELS.application}=${application}`]);
        await pruneObjects(application);
        return gone;
      },

      describe: member,

      async locate(application) {
        return Promise.all((await services(application)).map(asInstance));
      },
    };
  };
}
