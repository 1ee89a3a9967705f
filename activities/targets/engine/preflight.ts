// What every kind of node checks before apply touches anything: that the node says its
// platform, that an image of the request is built for it, that no other application holds a
// host port the deployment needs there (named, with its holder), and that the node's own
// policy, where it has one, admits what the deployment runs. The same rules and the same
// errors for every target; the driver only answers the questions.
import { NodePlatformError, NodePolicyViolationError, PortInUseError } from '../../../src/core/errors';
import type { NodeIntent } from '../../../src/core/intent';
import { imageFor, platformName, platformProblem, type Platform } from '../../../src/core/platforms';
import { describeClashes, hostPortClaims, portClashes, type PortHolder } from '../../../src/core/ports';

export interface NodeQuestions {
  /** The platform the node runs containers for, as it reports it. */
  platform(): Promise<Platform>;
  /** The platforms an image is built for; empty when nobody can say (the pull then says what is wrong). */
  imagePlatforms(image: string): Promise<Platform[]>;
  /** Every running instance of the Deployer's on the node, with the host ports it claims. */
  portHolders(): Promise<PortHolder[]>;
  /**
   * Why the node's own policy would refuse what the intent runs (a Kubernetes namespace's pod
   * security), or undefined when it admits it; absent where the inventory's `allow` is the only policy.
   */
  refusal?(intent: NodeIntent): Promise<string | undefined>;
}

const unknown = (p: Platform) => p.os === 'unknown' || p.architecture === 'unknown';

/** The intent with the image for this node, or the named error that refuses the node. */
export async function preflight(nodeId: string, planned: NodeIntent, node: NodeQuestions): Promise<{ intent: NodeIntent; platform: Platform }> {
  const platform = await node.platform();
  // Guessing would pull an image that may not run there: refused like any other misfit.
  if (unknown(platform)) throw new NodePlatformError(nodeId, platformName(platform), 'the node does not report its platform, so no image can be chosen for it');
  const image = imageFor(planned, platform, nodeId);
  const problem = platformProblem(image, platform, await node.imagePlatforms(image));
  if (problem !== undefined) throw new NodePlatformError(nodeId, platformName(platform), problem);
  const intent = { ...planned, image };
  const clashes = portClashes(intent.application, hostPortClaims(intent), await node.portHolders());
  if (clashes.length > 0) throw new PortInUseError(describeClashes(nodeId, clashes));
  const refused = await node.refusal?.(intent);
  if (refused !== undefined) throw new NodePolicyViolationError([{ path: ['container'], message: refused }]);
  return { intent, platform };
}
