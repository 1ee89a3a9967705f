// Kubernetes as a target, on the real local cluster of the stack (a real API server, real
// kubelets with containerd on kube-1 and kube-2): the conformance suite
// (test/support/conformance.ts), with one Deployment per chosen node pinned there by
// nodeName, a file delivered in a ConfigMap and a secret from a Secret. What runs where is
// asked of the cluster itself, with kubectl (test/support/platforms.ts).
import { conformance } from '../support/conformance';
import { kubernetes } from '../support/platforms';

jest.setTimeout(600_000);

conformance(kubernetes);
