// The Docker Engine calls the Deployer makes on a node, each idempotent: containers are
// found by deterministic name and by the Deployer's labels, so a call made again after a
// crash finds its own earlier work. The Docker Engine target's verbs are short sequences of
// these.
import type Docker from 'dockerode';
import { pack } from 'tar-stream';
import { DeployerError, ImageNotFoundError, RegistryError } from '../../../src/core/errors';
import { LABELS } from '../../../src/core/labels';
import type { EngineContainer } from '../../../src/core/renderers/docker-engine';
import { heartbeat } from '../../control/heartbeat';
import type { SecretProvider } from '../../control/secrets';
import { engineError, statusOf } from './engines';
import { claimVolumes, mountedVolumes } from './volumes';

export interface NodeContainer {
  id: string;
  name: string;
  application: string;
  version: string;
  deploymentId: string;
  running: boolean;
  state: string;
  /** The engine's status line, e.g. "Up 5 seconds (unhealthy)". */
  status: string;
  previous: string[];
  /** The apply that made it (containers made before the label have none). */
  mark?: string;
  /** The host ports it claims (its ports label; containers made before the label have none). */
  ports: string[];
  createdAt: number;
}

/** The Deployer's containers on the engine: of one application, or of every application. */
export async function listManaged(docker: Docker, application?: string): Promise<NodeContainer[]> {
  const label = [`${LABELS.managed}=true`, ...(application !== undefined ? [`${LABELS.application}=${application}`] : [])];
  const list = await docker.listContainers({ all: true, filters: JSON.stringify({ label }) });
  return list.map((c) => ({
    id: c.Id,
    name: (c.Names[0] ?? c.Id).replace(/^\//, ''),
    application: c.Labels[LABELS.application] ?? '',
    version: c.Labels[LABELS.version] ?? '',
    deploymentId: c.Labels[LABELS.deployment] ?? '',
    running: c.State === 'running' || c.State === 'restarting',
    state: c.State,
    status: c.Status,
    previous: (c.Labels[LABELS.previous] ?? '').split(',').filter(Boolean),
    ...(c.Labels[LABELS.apply] !== undefined ? { mark: c.Labels[LABELS.apply] } : {}),
    ports: (c.Labels[LABELS.ports] ?? '').split(',').filter(Boolean),
    createdAt: c.Created,
  }));
}

/** Starts a container with the restart policy its request asked for (recorded in its label). */
export async function startWithPolicy(docker: Docker, nameOrId: string): Promise<void> {
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

/**
 * Stops containers for good: restart policy "no" first, so that no engine restart revives
 * them. Each stops with its own grace period and signal (set at create), so a program that
 * ignores SIGTERM costs its own grace period, not the engine's 10 s.
 */
export async function stopForGood(docker: Docker, names: readonly string[]): Promise<void> {
  for (const name of names) {
    try {
      await docker.getContainer(name).update({ RestartPolicy: { Name: 'no' } });
      await docker.getContainer(name).stop();
    } catch (err) {
      // 304: already stopped; 404: already gone. Both are the state we want.
      if (statusOf(err) !== 304 && statusOf(err) !== 404) throw err;
    }
  }
}

/** Removes containers; one already gone is fine. Named volumes stay, so data survives. */
export async function removeContainers(docker: Docker, ids: readonly string[]): Promise<void> {
  for (const id of ids) {
    await docker.getContainer(id).remove({ force: true, v: false }).catch((err: unknown) => {
      if (statusOf(err) !== 404 && statusOf(err) !== 409) throw err;
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

export interface ProgressEvent {
  status?: string;
  stream?: string;
  error?: string;
  errorDetail?: { message?: string };
  aux?: { ID?: string; Digest?: string; Tag?: string };
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
        heartbeat();
        onEvent?.(event);
      },
    );
  });
}

/** Pulls an image unless the node has it already (so a node can roll back without the registry); true when pulled. */
export async function ensureImage(docker: Docker, nodeId: string, image: string): Promise<boolean> {
  try {
    await docker.getImage(image).inspect();
    return false;
  } catch (err) {
    if (statusOf(err) !== 404) throw engineError(nodeId, err, `inspecting image ${image}`);
  }
  try {
    await followProgress(docker, await docker.pull(image));
    return true;
  } catch (err) {
    const message = (err as Error).message ?? '';
    if (statusOf(err) === 404 || /manifest unknown|not found|does not exist/i.test(message)) throw new ImageNotFoundError(image, { cause: err });
    if (statusOf(err) === undefined && !(err as { code?: string }).code) throw new RegistryError(`pulling ${image} on ${nodeId}: ${message}`, { cause: err });
    throw engineError(nodeId, err, `pulling ${image}`);
  }
}

/** The numeric user a container runs as, for owning its secret files ("uid" or "uid:gid"; names count as root). */
function containerUser(user: string | undefined): { uid: number; gid: number } {
  const [u, g] = (user ?? '').split(':');
  const uid = /^\d+$/.test(u ?? '') ? Number(u) : 0;
  const gid = /^\d+$/.test(g ?? '') ? Number(g) : uid;
  return { uid, gid };
}

/**
 * Creates the container unless it exists, and delivers its files and secrets before it ever
 * starts. Secrets are resolved here and only here, 0400, owned by the container's user.
 * A container of that name made by another deployment is refused, and so is a named volume
 * that is not the application's (every container the Deployer makes is labelled with it).
 */
export async function createWithFiles(docker: Docker, nodeId: string, spec: EngineContainer, secrets: SecretProvider): Promise<{ id: string; created: boolean }> {
  const { name, create, files } = spec;
  try {
    const volumes = mountedVolumes(create.HostConfig?.Mounts);
    if (volumes.length > 0) await claimVolumes(docker, nodeId, create.Labels![LABELS.application]!, volumes);
    const inspect = () => docker.getContainer(name).inspect().catch((err: unknown) => {
      if (statusOf(err) === 404) return undefined;
      throw err;
    });
    let existing = await inspect();
    let id = '';
    let created = false;
    if (existing === undefined) {
      try {
        id = (await docker.createContainer({ ...create, name })).id;
        created = true;
      } catch (err) {
        // Another attempt of this same step made it meanwhile (a retry while the first was still
        // under way): then it is ours, as the owner check below confirms.
        if (statusOf(err) !== 409) throw err;
        existing = await inspect();
        if (existing === undefined) throw err;
      }
    }
    if (existing !== undefined) {
      const owner = existing.Config.Labels?.[LABELS.deployment];
      if (owner !== create.Labels?.[LABELS.deployment]) {
        throw engineError(nodeId, { statusCode: 409, message: `container name ${name} is taken by a container of deployment '${owner ?? 'none'}'` }, `creating ${name}`);
      }
      id = existing.Id;
    }
    const owner = spec.secrets.length > 0 ? containerUser((await docker.getContainer(id).inspect()).Config.User) : undefined;
    const delivered: ArchiveFile[] = [...files];
    for (const s of spec.secrets) delivered.push({ path: s.path, content: await secrets.resolve(s.ref), mode: 0o400, ...owner });
    if (delivered.length > 0) await docker.getContainer(id).putArchive(await filesArchive(delivered), { path: '/' });
    return { id, created };
  } catch (err) {
    if (err instanceof DeployerError) throw err;
    throw engineError(nodeId, err, `creating container ${name}`);
  }
}
