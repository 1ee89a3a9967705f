// The configuration check and the deployment tests, for every kind of node: the image is
// chosen for the node's platform as apply chooses it, the check and the tests run by the
// rules of deployment-tests.ts (one after the other, each within its timeout, http tests from
// outside, output redacted), and the driver gives only the two things its API alone can do:
// run a one-shot instance to its end on the node, and run a command in a running instance.
import type { ContainerTest, ExecTest, RunOutput } from '../../../src/core/deployment-tests';
import type { NodeIntent } from '../../../src/core/intent';
import { imageFor, type Platform } from '../../../src/core/platforms';
import type { SecretProvider } from '../../control/secrets';
import { runConfigCheck, runDeploymentTests } from '../deployment-tests';
import type { Target } from '../target';

export interface OneShotDriver {
  /** The node's platform, which picks the image; a node that cannot take work fails here. */
  platform(): Promise<Platform>;
  /**
   * Runs a one-shot instance on the node to its end, within its timeout: the configuration
   * check (no test given) or a test container; its exit code and output. A leftover of an
   * earlier attempt goes first, this one afterwards.
   */
  runOnce(intent: NodeIntent, test?: ContainerTest): Promise<RunOutput>;
  /** Runs an exec test's command in a running instance of the deployment. */
  exec(intent: NodeIntent, test: ExecTest): Promise<RunOutput>;
}

/** The verbs `checkConfig` and `test` of a node, carried out with its driver. */
export function oneShotVerbs(node: { id: string; address: string }, driver: OneShotDriver, secrets: SecretProvider): Pick<Target, 'checkConfig' | 'test'> {
  const forNode = async (planned: NodeIntent): Promise<NodeIntent> => ({ ...planned, image: imageFor(planned, await driver.platform(), node.id) });
  return {
    async checkConfig(planned, step) {
      const intent = await forNode(planned);
      return { result: await runConfigCheck(intent, secrets, step, () => driver.runOnce(intent)) };
    },
    async test(planned, step, stillThere) {
      const intent = await forNode(planned);
      const runners = { exec: (t: ExecTest) => driver.exec(intent, t), container: (t: ContainerTest) => driver.runOnce(intent, t) };
      return { results: await runDeploymentTests(intent, node.address, runners, secrets, step, stillThere) };
    },
  };
}
