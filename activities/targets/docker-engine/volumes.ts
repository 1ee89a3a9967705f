// The named volumes a container of an application mounts, claimed on the engine that runs it
// before anything mounts them: created with the application's labels, or, when a volume of
// that name exists, used only if it is the application's (src/core/ownership.ts). Creating
// first makes the claim race-free: the engine creates a volume once, and a create of a name
// that exists returns that volume with the labels it was made with, which never change.
import type Docker from 'dockerode';
import { NotOwnedError } from '../../../src/core/errors';
import { LABELS } from '../../../src/core/labels';
import { volumeLabels, volumeRefusal } from '../../../src/core/ownership';

/** The names of the volumes a create body's mounts name (bind mounts are the node policy's). */
export function mountedVolumes(mounts: readonly { Type?: string; Source?: string }[] | undefined): string[] {
  return [...new Set((mounts ?? []).filter((m) => m.Type === 'volume' && m.Source !== undefined).map((m) => m.Source!))];
}

/** Creates or finds each volume; throws NotOwnedError for the first that is not `application`'s. */
export async function claimVolumes(docker: Docker, nodeId: string, application: string, names: readonly string[]): Promise<void> {
  for (const name of names) {
    await docker.createVolume({ Name: name, Labels: volumeLabels(application) });
    const labels = ((await docker.getVolume(name).inspect()) as { Labels?: Record<string, string> | null }).Labels ?? {};
    // Only a volume without the label needs its users: asked for only then.
    const users = labels[LABELS.application] === undefined ? await docker.listContainers({ all: true, filters: JSON.stringify({ volume: [name] }) }) : [];
    const refusal = volumeRefusal(nodeId, application, {
      name,
      labels,
      users: users.map((c) => ({ name: (c.Names[0] ?? c.Id).replace(/^\//, ''), ...(c.Labels[LABELS.application] !== undefined ? { application: c.Labels[LABELS.application] } : {}) })),
    });
    if (refusal !== undefined) throw new NotOwnedError(nodeId, `volume ${name}`, refusal);
  }
}
