// `deployer nodes`: the inventory's nodes and what the Deployer runs on each, as each node's
// own Docker Engine reports it (the labels of src/container-spec.ts). A node whose engine
// does not answer is listed as unreachable; the others are still shown.
import { dockerClient } from '../../../activities/engines';
import type { Config } from '../../config';
import { LABELS } from '../../container-spec';
import { loadInventory } from '../../inventory';
import type { CommandOf } from '../args';
import { EXIT, type ExitCode } from '../errors';
import { renderNodes, type NodeView } from '../format';
import type { Output } from '../output';

const ENGINE_TIMEOUT_MS = 5_000;

export async function nodesCommand(_cmd: CommandOf<'nodes'>, config: Config, out: Output): Promise<ExitCode> {
  const inventory = loadInventory(config.inventoryPath);
  const nodes = await Promise.all(
    inventory.nodes.map(async (node): Promise<NodeView> => {
      try {
        const list = await dockerClient(node.docker, ENGINE_TIMEOUT_MS).listContainers({ all: true, filters: JSON.stringify({ label: [`${LABELS.managed}=true`] }) });
        const containers = list
          .map((c) => ({
            name: (c.Names[0] ?? c.Id).replace(/^\//, ''),
            application: c.Labels[LABELS.application] ?? '',
            version: c.Labels[LABELS.version] ?? '',
            deploymentId: c.Labels[LABELS.deployment] ?? '',
            replica: c.Labels[LABELS.replica] ?? '',
            state: c.State,
          }))
          .sort((a, b) => a.application.localeCompare(b.application) || a.name.localeCompare(b.name));
        return { node: node.id, address: node.address, reachable: true, containers };
      } catch (err) {
        return { node: node.id, address: node.address, reachable: false, error: (err as Error).message || String(err) };
      }
    }),
  );
  out.answer(nodes, renderNodes(nodes));
  return EXIT.ok;
}
