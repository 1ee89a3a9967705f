// The conformance suite (test/support/conformance.ts) over the fake target: the same
// scenarios as on the Docker Engine, the swarm and the Kubernetes cluster, each request
// handled by the bridge's own code and run by the workflows in the Temporal test environment.
// Every scenario runs here, and of the node faults (test/support/conformance-faults.ts) the
// last node lost mid-rollout, then a Retry. Where the fake has no program, engine or HTTP,
// its Platform (test/support/fake-platform.ts) answers from what it was asked: the version
// file it delivered, the secret's hash, the grace an old instance was stopped with. Not
// here: the secret file's permission bits (set by a real engine inside a real container),
// and the worker SIGKILLed mid-rollout (the fake's worker lives in the test's own process).
import { conformance, onTarget } from '../support/conformance';
import { nodeLost } from '../support/conformance-faults';
import { fakeNodeLoss, fakePlatform } from '../support/fake-platform';

// The lost node's restore is given up after the Deployer's compensation deadline (2 min).
jest.setTimeout(400_000);

describe('conformance (fake target)', () => {
  conformance(fakePlatform);
});

describe('node faults (fake target)', () => {
  const t = onTarget(fakePlatform, { name: 'fake-faults', tag: 'fakef' });
  nodeLost(fakePlatform, fakeNodeLoss, () => t.d, { name: t.newApp('down'), port: 18010 });
});
