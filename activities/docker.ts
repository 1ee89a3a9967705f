// Node runtime adapter: what the Deployer does on one fog node's Docker Engine. Everything
// Docker-specific about running containers lives here, so that a Swarm or Kubernetes target
// is another adapter with the same functions. Every function is idempotent: run twice, it
// finds its own earlier work (containers are found by deterministic name and by label).
import { Context } from '@temporalio/activity';
import type Docker from 'dockerode';
import { pack } from 'tar-stream';
import { LABELS, type ContainerSpec } from '../src/container-spec';
import { ImageNotFoundError, RegistryError } from '../src/errors';
import type { Whereabouts } from '../src/operation-plan';
import { engineError, statusOf, type Engines } from './engines';
import type { SecretProvider } from './secrets';

export interface NodeContainer {
  id: string;
  name: string;
  version: string;
  deploymentId: string;
  running: boolean;
  state: string;
  previous: string[];
  createdAt: number;
}

export interface RestoreOutcome {
  removed: string[];
  restarted: string[];
}

async function listApplication(docker: Docker, application: string): Promise<NodeContainer[]> {
  const list = await docker.listContainers({
    all: true,
    filters: JSON.stringify({ label: [`${LABELS.managed}=true`, `${LABELS.application}=${application}`] }),
  });
  return list.map((c) => ({
    id: c.Id,
    name: (c.Names[0] ?? c.Id).replace(/^\//, ''),
    version: c.Labels[LABELS.version] ?? '',
    deploymentId: c.Labels[LABELS.deployment] ?? '',
    running: c.State === 'running' || c.State === 'restarting',
    state: c.State,
    previous: (c.Labels[LABELS.previous] ?? '').split(',').filter(Boolean),
    createdAt: c.Created,
  }));
}

/** Starts a container with the restart policy its request asked for (recorded in its label). Idempotent. */
async function startWithPolicy(docker: Docker, nameOrId: string): Promise<void> {
  const container = docker.getContainer(nameOrId);
  const info = await container.inspect();
  const policy = info.Config.Labels?.[LABELS.restartPolicy];
  if (policy !== undefined && info.HostConfig.RestartPolicy?.Name !== policy) {
    await container.update({ RestartPolicy: { Name: policy } });
  }
  if (!info.State.Running) {
    await container.start().catch((err: unknown) => {
      if (statusOf(err) !== 304) throw err;
    });
  }
}

export interface ArchiveFile {
  path: string;
  content: string | Buffer;
  mode: number;
  /** Owner; root when absent. */
  uid?: number;
  gid?: number;
}

/**
 * A tar archive of the files, as PUT /containers/{id}/archive expects. It holds no directory
 * entries: the engine would apply their mode and owner to directories the image already has
 * (a sticky /tmp would lose its bit), and it creates missing parents itself (0755, root).
 */
export async function filesArchive(files: readonly ArchiveFile[]): Promise<Buffer> {
  const tar = pack();
  for (const f of files) tar.entry({ name: f.path.slice(1), mode: f.mode, uid: f.uid ?? 0, gid: f.gid ?? 0 }, f.content);
  tar.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of tar) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Follows a pull/push/build progress stream to its end, heartbeating; rejects on an error message in it. */
export function followProgress(docker: Docker, stream: NodeJS.ReadableStream, onEvent?: (e: ProgressEvent) => void): Promise<ProgressEvent[]> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (err: Error | null, output: ProgressEvent[]) => {
        if (err) return reject(err);
        const failed = output.find((e) => e.error !== undefined || e.errorDetail !== undefined);
        if (failed) return reject(new Error(failed.errorDetail?.message ?? failed.error));
        resolve(output);
      },
      (event: ProgressEvent) => {
        Context.current().heartbeat();
        onEvent?.(event);
      },
    );
  });
}

export interface ProgressEvent {
  status?: string;
  stream?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: { ID?: string; Digest?: string; Tag?: string };
}

/** The numeric user a container runs as, for owning its secret files ("uid" or "uid:gid"; names count as root). */
function containerUser(user: string | undefined): { uid: number; gid: number } {
  const [u, g] = (user ?? '').split(':');
  const uid = /^\d+$/.test(u ?? '') ? Number(u) : 0;
  const gid = /^\d+$/.test(g ?? '') ? Number(g) : uid;
  return { uid, gid };
}

export function createDockerActivities(engines: Engines, secrets: SecretProvider) {
  return {
    /** The application's containers on a node, from the engine itself. */
    async listApplicationContainers(input: { nodeId: string; application: string }): Promise<NodeContainer[]> {
      try {
        return await listApplication(engines.node(input.nodeId), input.application);
      } catch (err) {
        throw engineError(input.nodeId, err, 'listing containers');
      }
    },

    /** Pulls an image unless the node has it already (so a node can roll back without the registry). */
    async pullImage(input: { nodeId: string; image: string }): Promise<{ pulled: boolean }> {
      const docker = engines.node(input.nodeId);
      try {
        await docker.getImage(input.image).inspect();
        return { pulled: false };
      } catch (err) {
        if (statusOf(err) !== 404) throw engineError(input.nodeId, err, `inspecting image ${input.image}`);
      }
      try {
        const stream = await docker.pull(input.image);
        await followProgress(docker, stream);
        return { pulled: true };
      } catch (err) {
        const message = (err as Error).message ?? '';
        if (statusOf(err) === 404 || /manifest unknown|not found|does not exist/i.test(message)) {
          throw new ImageNotFoundError(input.image, { cause: err });
        }
        if (statusOf(err) === undefined && !(err as { code?: string }).code) {
          throw new RegistryError(`pulling ${input.image} on ${input.nodeId}: ${message}`, { cause: err });
        }
        throw engineError(input.nodeId, err, `pulling ${input.image}`);
      }
    },

    /** Creates the container (if it does not exist yet) and delivers its files before it ever starts. */
    async createContainer(input: { nodeId: string; spec: ContainerSpec }): Promise<{ id: string; created: boolean }> {
      const docker = engines.node(input.nodeId);
      const { name, create, files } = input.spec;
      const secretRefs = input.spec.secrets ?? [];
      let id: string;
      let created = false;
      try {
        const existing = await docker.getContainer(name).inspect().catch((err: unknown) => {
          if (statusOf(err) === 404) return undefined;
          throw err;
        });
        if (existing !== undefined) {
          const owner = existing.Config.Labels?.[LABELS.deployment];
          if (owner !== create.Labels?.[LABELS.deployment]) {
            throw engineError(input.nodeId, { statusCode: 409, message: `container name ${name} is taken by a container of deployment '${owner ?? 'none'}'` }, `creating ${name}`);
          }
          id = existing.Id;
        } else {
          id = (await docker.createContainer({ ...create, name })).id;
          created = true;
        }
        // Secrets are resolved here and only here: 0400, owned by the container's user.
        const owner = secretRefs.length > 0 ? containerUser((await docker.getContainer(id).inspect()).Config.User) : undefined;
        const delivered: ArchiveFile[] = [...files];
        for (const s of secretRefs) delivered.push({ path: s.path, content: await secrets.resolve(s.ref), mode: 0o400, ...owner });
        if (delivered.length > 0) await docker.getContainer(id).putArchive(await filesArchive(delivered), { path: '/' });
        return { id, created };
      } catch (err) {
        if (err instanceof Error && (err.name === 'InvalidContainerError' || err.name === 'SecretNotFoundError')) throw err;
        throw engineError(input.nodeId, err, `creating container ${name}`);
      }
    },

    /** Stops containers for good: restart policy "no" first, so that no engine restart revives them. */
    async stopContainers(input: { nodeId: string; names: string[] }): Promise<void> {
      const docker = engines.node(input.nodeId);
      for (const name of input.names) {
        try {
          await docker.getContainer(name).update({ RestartPolicy: { Name: 'no' } });
          await docker.getContainer(name).stop({ t: 10 });
        } catch (err) {
          // 304: already stopped; 404: already gone. Both are the state we want.
          if (statusOf(err) !== 304 && statusOf(err) !== 404) throw engineError(input.nodeId, err, `stopping ${name}`);
        }
      }
    },

    async startContainer(input: { nodeId: string; name: string }): Promise<void> {
      try {
        await startWithPolicy(engines.node(input.nodeId), input.name);
      } catch (err) {
        throw engineError(input.nodeId, err, `starting ${input.name}`);
      }
    },

    /**
     * Undo of a deployment on one node: removes the deployment's containers and starts again
     * the ones they replaced (named in their labels). Idempotent, and needs no memory of what
     * happened before: the engine's labels say it all.
     */
    async restoreNode(input: { nodeId: string; application: string; deploymentId: string }): Promise<RestoreOutcome> {
      const docker = engines.node(input.nodeId);
      try {
        const containers = await listApplication(docker, input.application);
        const ours = containers.filter((c) => c.deploymentId === input.deploymentId);
        const previous = new Set(ours.flatMap((c) => c.previous));
        for (const c of ours) {
          await docker.getContainer(c.id).remove({ force: true, v: false }).catch((err: unknown) => {
            if (statusOf(err) !== 404 && statusOf(err) !== 409) throw err;
          });
        }
        const restarted: string[] = [];
        for (const c of containers) {
          if (!previous.has(c.name)) continue;
          await startWithPolicy(docker, c.id);
          restarted.push(c.name);
        }
        return { removed: ours.map((c) => c.name), restarted };
      } catch (err) {
        throw engineError(input.nodeId, err, `restoring ${input.application}`);
      }
    },

    /**
     * Starts containers again with their requested restart policy: the undo of taking an
     * application off a node. Idempotent; names the containers that are gone, which no undo can bring back.
     */
    async startContainers(input: { nodeId: string; names: string[] }): Promise<{ started: string[]; missing: string[] }> {
      const docker = engines.node(input.nodeId);
      const out = { started: [] as string[], missing: [] as string[] };
      for (const name of input.names) {
        try {
          await startWithPolicy(docker, name);
          out.started.push(name);
        } catch (err) {
          if (statusOf(err) !== 404) throw engineError(input.nodeId, err, `starting ${name}`);
          out.missing.push(name);
        }
      }
      return out;
    },

    /**
     * Where the application's containers are, asked of every node's engine at once. A node
     * whose engine cannot be reached fails the call (and is retried): an operation must not
     * act on a partial picture.
     */
    async whereabouts(input: { application: string }): Promise<Whereabouts> {
      const nodes = engines.nodeIds();
      const found = await Promise.all(
        nodes.map(async (nodeId) => {
          try {
            return await listApplication(engines.node(nodeId), input.application);
          } catch (err) {
            throw engineError(nodeId, err, `listing containers of ${input.application}`);
          }
        }),
      );
      return {
        running: nodes.filter((_, i) => found[i]!.some((c) => c.running)),
        present: nodes.filter((_, i) => found[i]!.length > 0),
      };
    },

    /** Removes every container of the application from the node; named volumes stay, so data survives. Idempotent. */
    async removeApplication(input: { nodeId: string; application: string }): Promise<string[]> {
      const docker = engines.node(input.nodeId);
      try {
        const containers = await listApplication(docker, input.application);
        for (const c of containers) {
          await docker.getContainer(c.id).remove({ force: true, v: false }).catch((err: unknown) => {
            if (statusOf(err) !== 404) throw err;
          });
        }
        return containers.map((c) => c.name);
      } catch (err) {
        throw engineError(input.nodeId, err, `removing ${input.application}`);
      }
    },

    /**
     * After a deployment succeeded everywhere: keeps its containers and the ones they replaced
     * (stopped, so a rollback is a restart, not a pull) and removes every older one.
     */
    async retireOlder(input: { nodeId: string; application: string; deploymentId: string }): Promise<string[]> {
      const docker = engines.node(input.nodeId);
      try {
        const containers = await listApplication(docker, input.application);
        const ours = containers.filter((c) => c.deploymentId === input.deploymentId);
        const keep = new Set([...ours.map((c) => c.name), ...ours.flatMap((c) => c.previous)]);
        const removed: string[] = [];
        for (const c of containers) {
          if (keep.has(c.name)) continue;
          await docker.getContainer(c.id).remove({ force: true }).catch((err: unknown) => {
            if (statusOf(err) !== 404) throw err;
          });
          removed.push(c.name);
        }
        return removed;
      } catch (err) {
        throw engineError(input.nodeId, err, `retiring older containers of ${input.application}`);
      }
    },
  };
}

export type DockerActivities = ReturnType<typeof createDockerActivities>;
