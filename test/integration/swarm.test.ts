// Docker Swarm as a target, on the real local swarm of the stack (swarm-1..3, manager on
// swarm-1): the conformance suite (test/support/conformance.ts), with one service per chosen
// node placed there by hostname, a file delivered as a Swarm config and a secret as a Swarm
// secret. What runs where is asked of the manager itself (Engine API and `docker service ps`:
// test/support/platforms.ts).
import { conformance } from '../support/conformance';
import { swarm } from '../support/platforms';

jest.setTimeout(600_000);

conformance(swarm);
