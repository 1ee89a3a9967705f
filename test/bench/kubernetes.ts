// The Kubernetes target on the local cluster's 2 nodes (see orchestrator.ts), two ways in
// alternating order: the Deployer, and a plain script making the same API calls (server-side
// apply of the renderer's Deployment) and waiting for the new pods to be ready and to answer.
import { randomUUID } from 'node:crypto';
import type { KubernetesObject } from '@kubernetes/client-node';
import { KubernetesClusters } from '../../activities/targets/kubernetes/clusters';
import { LABELS } from '../../src/core/labels';
import { FIELD_MANAGER, KUBE_LABELS, renderWorkload, selectorLabels } from '../../src/core/renderers/kubernetes';
import { kubeNodes, nodeNameOf, removeKubeApplication } from '../support/kube';
import type { Orchestrator } from './orchestrator';
import type { Bench } from './support';

export function kubernetes(b: Bench): Orchestrator {
  const clusters = new KubernetesClusters(() => b.d.inventory);
  return {
    name: 'kubernetes',
    nodesCalled: 'Kubernetes nodes',
    appPrefix: 'bench-k8',
    port: 18690,
    nodes: kubeNodes,
    container: { stopGracePeriodMs: 1000 },
    plainLabel: 'plain script (same server-side applies)',
    // Apply the same Deployment with a new apply mark (the target sets one per apply); runs once a pod of the deployment is Ready.
    async apply(node, intent) {
      const { objects, core, cluster } = clusters.of(node);
      const { deployment } = renderWorkload(intent, nodeNameOf(node), cluster.namespace);
      const body = { ...deployment, spec: { ...deployment.spec, template: { ...deployment.spec.template, metadata: { ...deployment.spec.template.metadata, annotations: { ...deployment.spec.template.metadata.annotations, [KUBE_LABELS.apply]: randomUUID() } } } } };
      await objects.patch(body as KubernetesObject, undefined, undefined, FIELD_MANAGER, true, 'application/apply-patch+yaml');
      const selector = Object.entries(selectorLabels(intent.application, nodeNameOf(node))).map(([k, v]) => `${k}=${v}`).join(',');
      return {
        name: deployment.metadata.name,
        async runs() {
          const pods = (await core.listNamespacedPod({ namespace: cluster.namespace, labelSelector: selector })).items;
          return pods.some((p) => p.metadata?.annotations?.[LABELS.deployment] === intent.deploymentId && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
        },
      };
    },
    others: [],
    remove: removeKubeApplication,
  };
}
