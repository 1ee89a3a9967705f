// The Kubernetes target: a node of a Kubernetes cluster. The Deployer talks only to the
// cluster's API server (the official client, server-side apply with its own field manager);
// each application has one Deployment per node, pinned there by `nodeName`, with
// `strategy: Recreate` (src/core/renderers/kubernetes.ts). Apply puts the new revision in
// place (Kubernetes keeps the one it replaced as a ReplicaSet), verify waits for this apply's
// pods to be ready and to stay up, and for the request's health check on the node's address;
// restore applies the previous revision's pod template again (what `kubectl rollout undo`
// does) or deletes a Deployment this deployment created. The labels and annotations on the
// Deployments are the record of what runs where, so every verb can be run again and needs no
// memory. The configuration check and test containers are bare pods beside them
// (one-shot.ts), which no Deployment selects.
import type { KubernetesObject, PatchStrategy, V1Deployment, V1Pod, V1PodTemplateSpec } from '@kubernetes/client-node';
import { EngineUnreachableError } from '../../../src/core/errors';
import type { NodeIntent } from '../../../src/core/intent';
import { LABELS } from '../../../src/core/labels';
import type { NodeStatus } from '../../../src/core/node-facts';
import { normalizePlatform, platformName, type Platform } from '../../../src/core/platforms';
import { APP_CONTAINER, FIELD_MANAGER, KUBE_LABELS, oneShotLabels, renderConfigCheckPod, renderTestPod, renderWorkload, selectorLabels, workloadName, workloadPod, type KubeConfigMap, type KubeSecretPlan } from '../../../src/core/renderers/kubernetes';
import type { InventoryNode } from '../../../src/core/schemas/inventory';
import { heartbeat } from '../../control/heartbeat';
import type { SecretProvider } from '../../control/secrets';
import { applyIntent, applyMark, type ApplyDriver, type Placed } from '../engine/apply';
import { oneShotVerbs } from '../engine/one-shots';
import { restoreNode } from '../engine/restore';
import { verifyNode, type Observer } from '../engine/verify';
import type { Instance, Target } from '../target';
import { kubeError, said, statusOfKube, type ClusterApis, type KubernetesClusters } from './clusters';
import { deletePod, execInPod, runPod, type OneShotNode } from './one-shot';

/** The revision number the deployment controller writes on each ReplicaSet. */
const REVISION = 'deployment.kubernetes.io/revision';
/** The label the deployment controller adds to a ReplicaSet's template: not part of what was applied. */
const TEMPLATE_HASH = 'pod-template-hash';
/** Container states that will not turn into a running container without a change to the pod. */
const STUCK = new Set(['CrashLoopBackOff', 'CreateContainerConfigError', 'CreateContainerError', 'InvalidImageName', 'ErrImageNeverPull', 'RunContainerError']);

const annotationsOf = (o: { metadata?: { annotations?: Record<string, string> } } | undefined) => o?.metadata?.annotations ?? {};
const deploymentOf = (d: V1Deployment) => annotationsOf(d)[LABELS.deployment] ?? '';
const replicasOf = (d: V1Deployment) => d.spec?.replicas ?? 0;
const applyOf = (t: { metadata?: { annotations?: Record<string, string> } } | undefined) => annotationsOf(t)[LABELS.apply];
const selectorOf = (labels: Record<string, string>) => Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',');
const without = (o: Record<string, string>, key: string) => Object.fromEntries(Object.entries(o).filter(([k]) => k !== key));
/** The client's PatchStrategy values, as the content types the API server knows them by. */
const SERVER_SIDE_APPLY: PatchStrategy = 'application/apply-patch+yaml';
const MERGE_PATCH: PatchStrategy = 'application/merge-patch+json';
/**
 * What a restore puts back: the replicas the Deployment had before this deployment changed
 * it. Applied again by the same deployment (a Retry), it keeps the first apply's figure.
 */
function previousReplicas(current: V1Deployment | undefined, deploymentId: string): Record<string, string> {
  if (current === undefined) return {};
  const kept = annotationsOf(current)[KUBE_LABELS.previousReplicas];
  if (deploymentOf(current) === deploymentId) return kept !== undefined ? { [KUBE_LABELS.previousReplicas]: kept } : {};
  return { [KUBE_LABELS.previousReplicas]: String(replicasOf(current)) };
}

/** A Deployment of the application, as the engine's apply and restore see it. */
interface PlacedWorkload extends Placed {
  workload: V1Deployment;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function kubernetesTarget(clusters: KubernetesClusters, secrets: SecretProvider) {
  return (node: InventoryNode): Target => {
    if (node.target.kind !== 'kubernetes') throw new Error(`${node.id} is not a Kubernetes node`);
    const nodeName = node.target.nodeName;
    const apis = async (): Promise<ClusterApis> => clusters.of(node);
    const namespace = async () => (await apis()).cluster.namespace;

    /** Runs one API call, its failure as a named error. */
    async function on<T>(what: string, call: (a: ClusterApis, namespace: string) => Promise<T>): Promise<T> {
      const a = await apis();
      try {
        return await call(a, a.cluster.namespace);
      } catch (err) {
        throw kubeError(node.id, err, what);
      }
    }

    /** The object, or undefined when the API server says it does not exist. */
    async function orMissing<T>(what: string, call: (a: ClusterApis, namespace: string) => Promise<T>): Promise<T | undefined> {
      const a = await apis();
      try {
        return await call(a, a.cluster.namespace);
      } catch (err) {
        if (statusOfKube(err) === 404) return undefined;
        throw kubeError(node.id, err, what);
      }
    }

    /** Server-side apply, as the Deployer's field manager; forced, since the Deployer owns what it applies. */
    async function serverSideApply(what: string, object: KubernetesObject): Promise<void> {
      await on(what, (a) => a.objects.patch(object, undefined, undefined, FIELD_MANAGER, true, SERVER_SIDE_APPLY));
    }

    /** The Deployments the Deployer pinned to this node: of one application, or of all. */
    async function workloads(application?: string): Promise<V1Deployment[]> {
      const labels = { [LABELS.managed]: 'true', [KUBE_LABELS.node]: selectorLabels('x', nodeName)[KUBE_LABELS.node]!, ...(application !== undefined ? { [LABELS.application]: application } : {}) };
      return (await on('listing deployments', (a, ns) => a.apps.listNamespacedDeployment({ namespace: ns, labelSelector: selectorOf(labels) }))).items;
    }

    const workload = (name: string) => orMissing(`reading deployment ${name}`, (a, ns) => a.apps.readNamespacedDeployment({ name, namespace: ns }));

    /** The application's pods on this node that still run or may run: a pod that ended (Succeeded, Failed) never runs again. */
    async function podsOf(application: string): Promise<V1Pod[]> {
      const pods = (await on(`listing pods of ${application}`, (a, ns) => a.core.listNamespacedPod({ namespace: ns, labelSelector: selectorOf(selectorLabels(application, nodeName)) }))).items;
      return pods.filter((p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');
    }

    /** The node as the cluster sees it: Ready and schedulable, and its platform. */
    async function member(): Promise<NodeStatus & { platform?: Platform }> {
      const n = await orMissing(`reading node ${nodeName}`, (a) => a.core.readNode({ name: nodeName }));
      if (n === undefined) return { ready: false, detail: `cluster ${(await apis()).cluster.id} has no node named ${nodeName}` };
      const info = n.status?.nodeInfo;
      const platform = normalizePlatform({ os: info?.operatingSystem, architecture: info?.architecture });
      const ready = n.status?.conditions?.find((c) => c.type === 'Ready');
      if (ready?.status !== 'True') {
        return { ready: false, detail: `Kubernetes node ${nodeName} is ${ready === undefined ? 'not reporting' : 'NotReady'}${ready?.message ? ` (${ready.message})` : ''}`, platform };
      }
      if (n.spec?.unschedulable === true) return { ready: false, detail: `Kubernetes node ${nodeName} is cordoned`, platform };
      const silent = await kubeletSilence();
      if (silent !== undefined) return { ready: false, detail: silent, platform };
      return { ready: true, platform };
    }

    /**
     * The node stays Ready for the controller's grace period after its kubelet went silent,
     * often longer than a health check's deadline: the kubelet's own Lease says it sooner.
     * Expired (not renewed within its duration, which the kubelet renews four times over)
     * is Kubernetes' own definition of a lost holder. A cluster that does not let the
     * Deployer read leases is judged by the Ready condition alone.
     */
    async function kubeletSilence(): Promise<string | undefined> {
      const a = await apis();
      let lease;
      try {
        lease = await a.coordination.readNamespacedLease({ name: nodeName, namespace: 'kube-node-lease' });
      } catch (err) {
        const status = statusOfKube(err);
        if (status === 403 || status === 404) return undefined;
        throw kubeError(node.id, err, `reading the lease of node ${nodeName}`);
      }
      const renewed = lease.spec?.renewTime;
      const seconds = lease.spec?.leaseDurationSeconds;
      if (renewed === undefined || seconds === undefined) return undefined;
      const silentMs = Date.now() - new Date(renewed).getTime();
      if (silentMs <= seconds * 1000) return undefined;
      return `Kubernetes node ${nodeName} is NotReady: its kubelet has not renewed its lease for ${Math.round(silentMs / 1000)} s (the lease lasts ${seconds} s)`;
    }

    /** A planned Secret, its values resolved here and only here: they go to the API server, never into a label, an annotation or a log. */
    async function secretObject(plan: KubeSecretPlan): Promise<KubernetesObject> {
      const data: Record<string, string> = {};
      for (const [key, ref] of Object.entries(plan.refs)) data[key] = (await secrets.resolve(ref)).toString('base64');
      // Not immutable: a Retry after the value was fixed at its provider applies the same Secret with the new value.
      return { apiVersion: 'v1', kind: 'Secret', metadata: plan.metadata, type: 'Opaque', data } as KubernetesObject;
    }

    /**
     * The ConfigMap of a deployment's files and its Secret, in place before a pod mounts them:
     * by apply, and before it by the configuration check (per deployment, so apply finds them
     * as the check left them, and a restore prunes them like any the Deployment does not name).
     */
    async function applyFilesAndSecret(rendered: { configMap?: KubeConfigMap; secret?: KubeSecretPlan }): Promise<void> {
      if (rendered.configMap !== undefined) await serverSideApply(`applying config map ${rendered.configMap.metadata.name}`, rendered.configMap as KubernetesObject);
      if (rendered.secret !== undefined) await serverSideApply(`applying secret ${rendered.secret.metadata.name}`, await secretObject(rendered.secret));
    }

    const oneShotNode: OneShotNode = { id: node.id, apis, member };

    /**
     * Whether the namespace admits the Deployment's pods, asked with one in a dry run (the
     * same verb as a one-shot pod, nothing stored): a Forbidden answer is its admission's
     * (Pod Security, a policy), in its own words.
     */
    async function refusal(intent: NodeIntent): Promise<string | undefined> {
      const rendered = renderWorkload(intent, nodeName, await namespace());
      const a = await apis();
      try {
        await a.core.createNamespacedPod({ namespace: a.cluster.namespace, body: workloadPod(rendered) as unknown as V1Pod, dryRun: 'All' });
        return undefined;
      } catch (err) {
        if (statusOfKube(err) !== 403) throw kubeError(node.id, err, `asking whether namespace ${a.cluster.namespace} admits the pods of deployment ${rendered.name}`);
        return `namespace ${a.cluster.namespace} of cluster ${a.cluster.id} does not admit the pods of deployment ${rendered.name} on ${node.id}: ${said(err)}. What a node's allow in the inventory permits, its namespace must admit too: leave the option out of the request, or have the cluster's administrator admit it in the namespace`;
      }
    }

    /** One-shot pods and test Secrets left behind on this node (a check or test cut short by a crash): of one deployment, or of every one of the application. */
    async function removeOneShots(application: string, deploymentId?: string): Promise<void> {
      const selector = `${LABELS.role},${selectorOf(oneShotLabels(application, nodeName))}`;
      const mine = (o: { metadata?: { annotations?: Record<string, string> } }) => deploymentId === undefined || annotationsOf(o)[LABELS.deployment] === deploymentId;
      const [pods, secretList] = await Promise.all([
        on('listing one-shot pods', (a, ns) => a.core.listNamespacedPod({ namespace: ns, labelSelector: selector })),
        on('listing test secrets', (a, ns) => a.core.listNamespacedSecret({ namespace: ns, labelSelector: selector })),
      ]);
      for (const p of pods.items.filter(mine)) await deletePod(oneShotNode, p.metadata!.name!);
      for (const x of secretList.items.filter(mine)) {
        const name = x.metadata!.name!;
        await orMissing(`deleting secret ${name}`, (a, ns) => a.core.deleteNamespacedSecret({ name, namespace: ns }));
      }
    }

    /** The node's platform, Ready or not: a verb that runs pods needs the node to take them. */
    async function readyPlatform(): Promise<Platform> {
      const status = await member();
      if (!status.ready) throw new EngineUnreachableError(node.id, { detail: status.detail });
      return status.platform!;
    }

    /**
     * Removes the application's ConfigMaps and Secrets on this node that neither its
     * Deployment nor any of the revisions Kubernetes keeps references: a restore to the
     * previous revision needs that revision's files and secrets.
     */
    async function pruneObjects(application: string): Promise<void> {
      const selector = selectorOf(selectorLabels(application, nodeName));
      const [sets, maps, secretList, deployments] = await Promise.all([
        on('listing replica sets', (a, ns) => a.apps.listNamespacedReplicaSet({ namespace: ns, labelSelector: selector })),
        on('listing config maps', (a, ns) => a.core.listNamespacedConfigMap({ namespace: ns, labelSelector: selector })),
        on('listing secrets', (a, ns) => a.core.listNamespacedSecret({ namespace: ns, labelSelector: selector })),
        workloads(application),
      ]);
      // A ReplicaSet being deleted (with its Deployment) will not be rolled back to.
      const templates = [...sets.items.filter((s) => s.metadata?.deletionTimestamp === undefined).map((s) => s.spec?.template), ...deployments.map((d) => d.spec?.template)];
      const used = new Set(templates.flatMap((t) => (t?.spec?.volumes ?? []).flatMap((v) => [v.configMap?.name, v.secret?.secretName])).filter((n): n is string => n !== undefined));
      for (const m of maps.items) {
        const name = m.metadata!.name!;
        if (!used.has(name)) await orMissing(`deleting config map ${name}`, (a, ns) => a.core.deleteNamespacedConfigMap({ name, namespace: ns }));
      }
      for (const x of secretList.items) {
        const name = x.metadata!.name!;
        if (!used.has(name)) await orMissing(`deleting secret ${name}`, (a, ns) => a.core.deleteNamespacedSecret({ name, namespace: ns }));
      }
    }

    /** The newest revision of a Deployment that another deployment made: what a restore goes back to. */
    async function previousRevision(d: V1Deployment): Promise<V1PodTemplateSpec | undefined> {
      const application = d.metadata?.labels?.[LABELS.application] ?? '';
      const sets = (await on('listing replica sets', (a, ns) => a.apps.listNamespacedReplicaSet({ namespace: ns, labelSelector: selectorOf(selectorLabels(application, nodeName)) }))).items;
      const owned = sets.filter((s) => s.metadata?.ownerReferences?.some((o) => o.uid === d.metadata?.uid) && annotationsOf(s.spec?.template)[LABELS.deployment] !== deploymentOf(d));
      owned.sort((a, b) => Number(annotationsOf(b)[REVISION] ?? 0) - Number(annotationsOf(a)[REVISION] ?? 0));
      return owned[0]?.spec?.template;
    }

    /** The Deployment as it was at an earlier revision: that revision's template, annotations and replicas. */
    async function revertedTo(d: V1Deployment, template: V1PodTemplateSpec, replicas: number): Promise<KubernetesObject> {
      // The template exactly as that revision had it, so that the controller takes that revision's ReplicaSet up again.
      const labels = without(template.metadata?.labels ?? {}, TEMPLATE_HASH);
      const annotations = without(annotationsOf(template), LABELS.apply);
      return {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: d.metadata!.name!, namespace: await namespace(), labels: d.metadata?.labels ?? {}, annotations },
        spec: { replicas, revisionHistoryLimit: 10, strategy: { type: 'Recreate' }, selector: d.spec!.selector, template: { ...template, metadata: { ...template.metadata, labels } } },
      } as KubernetesObject;
    }

    /** How long a rollout or a removal may take: the pods' grace period, and some. */
    const settleMs = (d: V1Deployment | undefined) => (d?.spec?.template.spec?.terminationGracePeriodSeconds ?? 30) * 1000 + 60_000;

    /**
     * Waits until the application's Deployment on this node is rolled out (every pod of its
     * current revision available, nothing older left), or, removed, until it and its pods are
     * gone: until the node is as the verb left it and its host ports are free. Asked of the
     * cluster, not of what the verb did, so a verb run again after a crash waits as long.
     */
    async function settled(application: string, timeoutMs: number): Promise<void> {
      const name = workloadName(application, nodeName);
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const d = await workload(name);
        const pods = await podsOf(application);
        let waiting: string;
        if (d === undefined || d.metadata?.deletionTimestamp !== undefined) {
          if (d === undefined && pods.length === 0) return;
          waiting = `deployment ${d === undefined ? 'removed' : 'being removed'}, ${pods.length} pod(s) still stopping`;
        } else {
          const s = d.status ?? {};
          const want = replicasOf(d);
          const done = (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0) && (s.updatedReplicas ?? 0) === want && (s.availableReplicas ?? 0) === want && (s.replicas ?? 0) === want;
          if (done && pods.length === want) return;
          waiting = `${s.availableReplicas ?? 0} of ${want} pod(s) available, ${pods.length} present`;
        }
        if (Date.now() > deadline) throw new Error(`deployment ${name} on ${node.id} did not settle within ${timeoutMs} ms (${waiting})`);
        // Pods on a node whose kubelet is gone never change: say so rather than wait out the deadline.
        const status = await member();
        if (!status.ready) throw new EngineUnreachableError(node.id, { detail: status.detail });
        heartbeat({ deployment: name, settling: waiting });
        await sleep(300);
      }
    }

    /** The pods of this apply as the verify loop sees them: a run each, wanted `replicas` of them ready. */
    async function observeWorkload(intent: NodeIntent, name: string): Promise<Observer> {
      const attempt = applyOf((await workload(name))?.spec?.template);
      return {
        async observe() {
          const all = (await on(`listing pods of ${intent.application}`, (a, ns) => a.core.listNamespacedPod({ namespace: ns, labelSelector: selectorOf(selectorLabels(intent.application, nodeName)) }))).items;
          const ours = all.filter((p) => applyOf(p) === attempt && annotationsOf(p)[LABELS.deployment] === intent.deploymentId && p.metadata?.deletionTimestamp === undefined);
          const runs = ours.map((p) => {
            const c = p.status?.containerStatuses?.[0];
            return { id: `pod ${p.metadata?.name}`, running: c?.state?.running !== undefined, startedAt: String(c?.state?.running?.startedAt ?? p.status?.startTime ?? ''), restartCount: c?.restartCount ?? 0, status: p.status?.phase ?? 'Pending' };
          });
          const ended = (why: string) => ({ runs, ended: why });
          // A pod the kubelet refused or evicted (no room, a port taken) ends Failed: it never runs.
          const refused = ours.find((p) => p.status?.phase === 'Failed');
          if (refused !== undefined) return ended(`pod ${refused.metadata?.name} failed: ${refused.status?.reason ?? 'Failed'}${refused.status?.message ? ` (${refused.status.message})` : ''}`);
          for (const p of ours) {
            for (const c of p.status?.containerStatuses ?? []) {
              if (c.restartCount > 0 || c.state?.terminated !== undefined) {
                const last = c.state?.terminated ?? c.lastState?.terminated;
                return ended(`pod ${p.metadata?.name} ${c.restartCount > 0 ? 'restarted' : 'stopped'} during verification${last !== undefined ? `: ${last.reason ?? 'exited'} (exit code ${last.exitCode})` : ''}`);
              }
              const reason = c.state?.waiting?.reason;
              if (reason !== undefined && STUCK.has(reason)) return ended(`pod ${p.metadata?.name}: ${reason}${c.state?.waiting?.message ? ` (${c.state.waiting.message})` : ''}`);
            }
          }
          const ready = ours.filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
          if (ready.length >= intent.replicas) return { runs };
          // What the others are doing, as `kubectl get pods` would say it.
          const others = [...new Set(ours.filter((p) => !ready.includes(p)).map((p) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason ?? (p.status?.phase === 'Running' ? 'Running, not ready' : (p.status?.phase ?? 'Pending'))))];
          return { runs, waiting: `${ready.length} of ${intent.replicas} pod(s) ready${others.length > 0 ? ` (others ${others.join('; ')})` : ours.length === 0 ? ' (no pod of this deployment yet)' : ''}` };
        },
        // A node whose kubelet is gone will not run them, and its pods stay Ready for a while: said rather than waiting for the deadline.
        nodeProblem: async () => {
          const status = await member();
          return status.ready ? undefined : (status.detail ?? 'not ready');
        },
      };
    }

    const placed = async (application: string): Promise<PlacedWorkload[]> =>
      (await workloads(application)).map((d) => {
        const mark = applyOf(d.spec?.template);
        const replaced = annotationsOf(d)[KUBE_LABELS.previousReplicas] !== undefined ? [d.metadata!.name!] : [];
        return { name: d.metadata!.name!, deploymentId: deploymentOf(d), ...(mark !== undefined ? { mark } : {}), running: replicasOf(d) > 0, replaced, workload: d };
      });

    const asInstance = (d: V1Deployment): Instance => {
      const wanted = replicasOf(d);
      const ready = d.status?.readyReplicas ?? 0;
      return {
        name: d.metadata!.name!,
        application: d.metadata?.labels?.[LABELS.application] ?? '',
        version: annotationsOf(d)[LABELS.version] ?? '',
        deploymentId: deploymentOf(d),
        running: wanted > 0 && ready > 0,
        state: wanted === 0 ? 'stopped' : `${ready}/${wanted} ready`,
      };
    };

    /** A merge patch of a Deployment's replicas and annotations, leaving its template as it is. */
    async function rescale(d: V1Deployment, replicas: number, annotations: Record<string, string | null>): Promise<void> {
      const name = d.metadata!.name!;
      await on(`scaling deployment ${name}`, (a, ns) =>
        a.objects.patch({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: ns, annotations: annotations as Record<string, string> }, spec: { replicas } } as KubernetesObject, undefined, undefined, FIELD_MANAGER, undefined, MERGE_PATCH),
      );
    }

    async function deleteWorkload(name: string): Promise<void> {
      // Foreground: the Deployment goes only after its ReplicaSets and pods, so that a prune after it finds no revision that still names a config map or a secret.
      await orMissing(`deleting deployment ${name}`, (a, ns) => a.apps.deleteNamespacedDeployment({ name, namespace: ns, propagationPolicy: 'Foreground' }));
    }

    return {
      ...oneShotVerbs(node, {
        platform: readyPlatform,
        async runOnce(intent, test) {
          if (test === undefined) {
            const check = renderConfigCheckPod(intent, nodeName, await namespace());
            await applyFilesAndSecret(check);
            return runPod(oneShotNode, check.pod, intent.configCheck!.timeoutMs);
          }
          const rendered = renderTestPod(intent, test, nodeName, node.address, await namespace());
          const secret = rendered.secret?.metadata.name;
          try {
            if (rendered.secret !== undefined) await serverSideApply(`applying secret ${secret}`, await secretObject(rendered.secret));
            return await runPod(oneShotNode, rendered.pod, test.timeoutMs);
          } finally {
            if (secret !== undefined) await orMissing(`deleting secret ${secret}`, (a, ns) => a.core.deleteNamespacedSecret({ name: secret, namespace: ns }));
          }
        },
        async exec(intent, test) {
          // Any pod of this deployment that is ready: the one a client could be answered by.
          const pods = (await podsOf(intent.application)).filter((p) => annotationsOf(p)[LABELS.deployment] === intent.deploymentId && p.metadata?.deletionTimestamp === undefined && p.status?.phase === 'Running');
          const pod = pods.map((p) => p.metadata!.name!).sort()[0];
          if (pod === undefined) return { output: '', problem: `no running pod of deployment ${intent.deploymentId} on ${nodeName}` };
          return execInPod(oneShotNode, pod, APP_CONTAINER, test.command, test.timeoutMs);
        },
      }, secrets),

      async apply(planned, step) {
        const driver: ApplyDriver<PlacedWorkload> = {
          // Checked before anything on the node is touched: readiness, platform, host ports, the namespace's pod security.
          platform: readyPlatform,
          // The API server does not ask registries: the kubelet's pull says what is wrong.
          imagePlatforms: async () => [],
          portHolders: async () =>
            (await workloads()).filter((d) => replicasOf(d) > 0).map((d) => ({ application: d.metadata?.labels?.[LABELS.application] ?? '', deploymentId: deploymentOf(d), ports: (annotationsOf(d)[LABELS.ports] ?? '').split(',').filter(Boolean) })),
          refusal,
          names: (intent) => [workloadName(intent.application, nodeName)],
          placed,
          async converge(intent, { platform, mark, placed: found }, report) {
            const rendered = renderWorkload(intent, nodeName, await namespace());
            report('Configuring', `deployment ${rendered.name} for ${platformName(platform)}: ${intent.replicas} pod(s), ${rendered.configMap !== undefined ? 1 : 0} config map(s), ${rendered.secret !== undefined ? 1 : 0} secret(s)`);
            const current = found.find((p) => p.name === rendered.name)?.workload;
            await applyFilesAndSecret(rendered);
            const d = rendered.deployment;
            const body = {
              ...d,
              metadata: { ...d.metadata, annotations: { ...d.metadata.annotations, ...previousReplicas(current, intent.deploymentId) } },
              spec: { ...d.spec, template: { ...d.spec.template, metadata: { ...d.spec.template.metadata, annotations: { ...d.spec.template.metadata.annotations, [LABELS.apply]: mark } } } },
            };
            await serverSideApply(`applying deployment ${rendered.name}`, body as KubernetesObject);
            report('Deploying', current === undefined ? `deployment ${rendered.name} created` : `deployment ${rendered.name} updated from deployment ${deploymentOf(current)}`);
            return { instances: [rendered.name], replaced: current !== undefined ? [rendered.name] : [] };
          },
        };
        return applyIntent(node.id, planned, driver, step, applyMark());
      },

      async verify(intent, step, stillThere) {
        // The image plays no part here: what runs was chosen by apply.
        const name = workloadName(intent.application, nodeName);
        return verifyNode({ node, intent, stillThere, before: 'the pods to be ready' }, async () => [[name, await observeWorkload(intent, name)]], step);
      },

      async restore(ref) {
        return restoreNode(ref, {
          placed,
          async withdraw({ name, workload: d, replaced }) {
            // Created by this deployment: a restore takes it away.
            if (replaced.length === 0) return deleteWorkload(name);
            const previous = await previousRevision(d);
            if (previous === undefined) throw new Error(`deployment ${name} on ${node.id} replaced another, but no earlier revision of it is left to go back to`);
            await serverSideApply(`restoring deployment ${name}`, await revertedTo(d, previous, Number(annotationsOf(d)[KUBE_LABELS.previousReplicas])));
          },
          async restart({ workload: d }) {
            const replicas = annotationsOf(d)[KUBE_LABELS.stoppedReplicas];
            if (replicas === undefined) return false;
            await rescale(d, Number(replicas), { [KUBE_LABELS.stoppedReplicas]: null });
            return true;
          },
          async finish({ application, deploymentId }, { placed: before }) {
            // Back as it was only once the previous pods are ready again, or the new ones gone.
            await settled(application, settleMs(before[0]?.workload));
            await removeOneShots(application, deploymentId);
            await pruneObjects(application);
          },
        });
      },

      async retire({ application }) {
        // Kubernetes replaced the older pods itself; what is left are config maps and secrets no revision references.
        await pruneObjects(application);
        return [];
      },

      async stop({ application, names }) {
        const found = await workloads(application);
        for (const d of found) {
          const name = d.metadata!.name!;
          if (!names.includes(name) || replicasOf(d) === 0) continue;
          // Scaled to 0, not deleted: its revisions stay for a restore, which scales it back.
          await rescale(d, 0, { [KUBE_LABELS.stoppedReplicas]: String(replicasOf(d)) });
        }
        if (found.length > 0) await settled(application, settleMs(found[0]));
        return [...names];
      },

      async remove({ application }) {
        const gone: string[] = [];
        const found = await workloads(application);
        for (const d of found) {
          const name = d.metadata!.name!;
          await deleteWorkload(name);
          gone.push(name);
        }
        await settled(application, settleMs(found[0]));
        await removeOneShots(application);
        await pruneObjects(application);
        return gone;
      },

      describe: member,

      async locate(application) {
        return (await workloads(application)).map(asInstance);
      },
    };
  };
}
