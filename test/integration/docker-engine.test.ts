// The bare Docker Engine as a target, on the real fog nodes of the stack (fog-1..3, each its
// own engine): the conformance suite (test/support/conformance.ts), with one container per
// replica on each chosen node, a file and a secret delivered into it. What runs where is
// asked of each node's engine itself (test/support/platforms.ts).
import { conformance } from '../support/conformance';
import { dockerEngine } from '../support/platforms';

jest.setTimeout(600_000);

conformance(dockerEngine);
