// The activities of the first workflow shape (workflows/v1/), which called the Docker Engine
// step by step. Deployments started before the node seam still run them until they end; they
// are served here by the Docker Engine target's own calls. Retire with workflows/v1/ (see
// workflows/patches.ts).
import { DeployerError } from '../../../src/core/errors';
import type { Whereabouts } from '../../../src/core/operation-plan';
import type { ContainerSpec } from '../../../workflows/v1/container-spec';
import type { SecretProvider } from '../../control/secrets';
import { createWithFiles, ensureImage, listManaged, type NodeContainer, startWithPolicy, stopForGood } from './containers';
import { engineError, statusOf, type Engines } from './engines';
import { dockerEngineTarget } from './target';
import type { InventoryNode } from '../../../src/core/schemas/inventory';

export type { NodeContainer };

export function createLegacyDockerActivities(engines: Engines, secrets: SecretProvider, nodes: () => InventoryNode[]) {
  const target = (nodeId: string) => {
    const node = nodes().find((n) => n.id === nodeId);
    if (node === undefined) engines.node(nodeId); // throws UnknownNodeError
    return dockerEngineTarget(engines, secrets)(node!);
  };
  const call = async <T>(nodeId: string, what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof DeployerError) throw err;
      throw engineError(nodeId, err, what);
    }
  };
  return {
    async listApplicationContainers(input: { nodeId: string; application: string }): Promise<NodeContainer[]> {
      return call(input.nodeId, 'listing containers', () => listManaged(engines.node(input.nodeId), input.application));
    },
    async pullImage(input: { nodeId: string; image: string }): Promise<{ pulled: boolean }> {
      return { pulled: await ensureImage(engines.node(input.nodeId), input.nodeId, input.image) };
    },
    async createContainer(input: { nodeId: string; spec: ContainerSpec }): Promise<{ id: string; created: boolean }> {
      return createWithFiles(engines.node(input.nodeId), input.nodeId, input.spec, secrets);
    },
    async stopContainers(input: { nodeId: string; names: string[] }): Promise<void> {
      await call(input.nodeId, `stopping ${input.names.join(', ')}`, () => stopForGood(engines.node(input.nodeId), input.names));
    },
    async startContainer(input: { nodeId: string; name: string }): Promise<void> {
      await call(input.nodeId, `starting ${input.name}`, () => startWithPolicy(engines.node(input.nodeId), input.name));
    },
    async restoreNode(input: { nodeId: string; application: string; deploymentId: string }): Promise<{ removed: string[]; restarted: string[] }> {
      const { removed, restarted } = await target(input.nodeId).restore({ ...input, restart: [] });
      return { removed, restarted };
    },
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
    async whereabouts(input: { application: string }): Promise<Whereabouts> {
      const ids = nodes().filter((n) => n.target.kind === 'docker-engine').map((n) => n.id);
      const found = await Promise.all(ids.map((id) => target(id).locate(input.application)));
      return { running: ids.filter((_, i) => found[i]!.some((c) => c.running)), present: ids.filter((_, i) => found[i]!.length > 0) };
    },
    async removeApplication(input: { nodeId: string; application: string }): Promise<string[]> {
      return target(input.nodeId).remove(input);
    },
    async retireOlder(input: { nodeId: string; application: string; deploymentId: string }): Promise<string[]> {
      return target(input.nodeId).retire(input);
    },
  };
}

export type DockerActivities = ReturnType<typeof createLegacyDockerActivities>;
