// Whose a thing on a node is, for the things a deployment uses by name rather than makes
// anew: a named volume (its data outlives every deployment), a Swarm config or secret
// (immutable, made once per deployment and then reused) and a Swarm service (updated, or
// removed and made again). A name is what the request author
// chooses or what the Deployer derives from it; the labels the Deployer sets when it creates
// the thing are what say whose it is, and a thing of that name that is not the deployment's
// own is refused rather than used. Pure: the drivers find the facts, this decides.
import { LABELS } from './labels';

/** The labels of a volume the Deployer creates for an application: it is that application's from then on. */
export function volumeLabels(application: string): Record<string, string> {
  return { [LABELS.managed]: 'true', [LABELS.application]: application };
}

/** A volume of the name a deployment mounts, as the node's engine reports it after the Deployer asked to create it. */
export interface FoundVolume {
  name: string;
  labels: Record<string, string>;
  /** The containers on the node that mount it, with their application label (none: not the Deployer's). */
  users: { name: string; application?: string }[];
}

/**
 * Why `application` may not mount the volume on `nodeId`, or undefined when it is the
 * application's: labelled so (the Deployer made it for the application, or an operator did,
 * to hand it data). A volume without the label was made before volumes were owned (the
 * engine made it for a container) or outside the Deployer: it is the application's only
 * while every container that mounts it is one of the application's, as after an upgrade of
 * the Deployer; an unused or shared one could be anyone's. Volume labels cannot change, so
 * the message says what can be done instead.
 */
export function volumeRefusal(nodeId: string, application: string, volume: FoundVolume): string | undefined {
  const owner = volume.labels[LABELS.application];
  if (owner === application) return undefined;
  if (owner !== undefined) {
    return `volume '${volume.name}' on ${nodeId} belongs to application ${owner} (label ${LABELS.application}=${owner}), not to ${application}: choose another volume name`;
  }
  const strangers = volume.users.filter((u) => u.application !== application);
  if (volume.users.length > 0 && strangers.length === 0) return undefined;
  const why = strangers.length > 0 ? `containers of others mount it (${strangers.map((u) => `${u.name}${u.application !== undefined ? ` of application ${u.application}` : ''}`).join(', ')})` : `no container of ${application} mounts it`;
  return `volume '${volume.name}' on ${nodeId} was not created for application ${application} (it has no ${LABELS.application} label) and ${why}: choose another volume name, or have an operator give ${application} its data in a volume created with the label ${LABELS.application}=${application}`;
}

/** A Swarm config or secret of the name a deployment's service references, as the manager lists it. */
export interface FoundSwarmObject {
  kind: 'config' | 'secret';
  name: string;
  labels: Record<string, string>;
}

/**
 * Why a deployment may not reference the config or secret, or undefined when the Deployer
 * made it for this very deployment (its names are per deployment, and its content is that
 * deployment's file or secret): anything else of that name holds someone else's content.
 */
export function swarmObjectRefusal(swarm: string, owner: { application: string; deploymentId: string }, found: FoundSwarmObject): string | undefined {
  const application = found.labels[LABELS.application];
  const deployment = found.labels[LABELS.deployment];
  if (application === owner.application && deployment === owner.deploymentId) return undefined;
  const whose = application === undefined ? `has no ${LABELS.application} label (the Deployer did not make it)` : `is application ${application}'s${deployment !== undefined ? ` (deployment ${deployment})` : ''}`;
  return `${found.kind} '${found.name}' on swarm ${swarm} ${whose}, not made for deployment ${owner.deploymentId} of ${owner.application}: it is not used; an operator may remove it (docker ${found.kind} rm ${found.name}) if it is stale`;
}

/**
 * Why a deployment of `application` may not update or remove the Swarm service of the name
 * its service (or one-shot service) on a node takes, or undefined when it is the
 * application's: service names are cut to 63 characters with a 32-bit fingerprint, which a
 * long application name can be made to match, and a name may be taken outside the Deployer.
 */
export function swarmServiceRefusal(swarm: string, application: string, found: { name: string; labels: Record<string, string> }): string | undefined {
  const owner = found.labels[LABELS.application];
  if (owner === application) return undefined;
  const whose = owner === undefined ? `has no ${LABELS.application} label (the Deployer did not make it)` : `is application ${owner}'s`;
  return `service '${found.name}' on swarm ${swarm} ${whose}, not ${application}'s: it is left as it is; an operator may remove it (docker service rm ${found.name}) if it is stale, or the application take another name`;
}
