// Node faults on the real local Kubernetes cluster: the worker SIGKILLed at random points
// during deployments, and the last node lost mid-rollout then a Retry
// (test/support/conformance-faults.ts; what differs by target: test/support/platforms.ts).
import { nodeFaults } from '../support/conformance-faults';
import { kubernetes } from '../support/platforms';

jest.setTimeout(900_000);

nodeFaults(kubernetes);
