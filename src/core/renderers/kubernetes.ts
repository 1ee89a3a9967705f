// The Kubernetes renderer: a node's intent as a Deployment pinned to that node (apps/v1),
// with the ConfigMap that carries its files and the Secret its references are delivered
// by. One Deployment per application and node, `strategy: Recreate` and `nodeName`: the saga
// acts on, verifies and restores each node on its own, the Deployment's revisions (its
// ReplicaSets) are then exactly that node's history, and a host port is never held twice
// (a rolling update of a nodeName-pinned pod with a host port never finishes: the new pod
// cannot start while the old one holds the port, and the old one waits for the new one).
// Pure, so that it is tested by equality; the Kubernetes target only carries it out, by
// server-side apply.
import { testContainerEnv, type ContainerTest } from '../deployment-tests';
import { InvalidContainerError } from '../errors';
import type { IntentFile, NodeIntent } from '../intent';
import { LABELS } from '../labels';
import { hostPortClaims } from '../ports';
import { fingerprint, ONE_SHOT_ROLES } from './docker-engine';

/** Labels and annotations only the Kubernetes target writes, beside the common ones. */
export const KUBE_LABELS = {
  /** The Kubernetes node a workload is pinned to. */
  node: 'io.deployer.node',
  /** On a Deployment scaled to 0 by `stop`: the replicas a restore puts back. */
  stoppedReplicas: 'io.deployer.stopped-replicas',
  /** On a Deployment an apply changed: the replicas it had, which a restore to the previous revision puts back. */
  previousReplicas: 'io.deployer.previous-replicas',
  /** On the pod template: one apply, so that a Retry of the same deployment rolls out anew. */
  apply: LABELS.apply,
} as const;

/** The application's container in its pods: what an exec test runs in. */
export const APP_CONTAINER = 'app';

/** The field manager of every server-side apply: what `managedFields` names as the Deployer's. */
export const FIELD_MANAGER = 'deployer';

/** Room for the ReplicaSet's and the pod's suffixes, so that a pod's name stays a 63-character DNS label. */
const MAX_NAME = 46;

function bounded(name: string): string {
  const clean = name.toLowerCase().replace(/[^a-z0-9-]/g, '-');
  if (clean.length <= MAX_NAME && clean === name) return name;
  return `${clean.slice(0, MAX_NAME - 10).replace(/-+$/, '')}--${fingerprint(name)}`;
}

/** The Deployment of `application` on the node `nodeName`: deterministic, so a verb run again finds it. */
export function workloadName(application: string, nodeName: string): string {
  return bounded(`${application}--${nodeName}`);
}

/** The ConfigMap of a deployment's files on one node; a new deployment makes a new one, so a previous revision keeps its own. */
export function configMapName(application: string, nodeName: string, deploymentId: string): string {
  return `${workloadName(application, nodeName)}-f${fingerprint(deploymentId)}`;
}

/** The Secret of a deployment on one node; its values are read only when the target applies it. */
export function secretObjectName(application: string, nodeName: string, deploymentId: string): string {
  return `${workloadName(application, nodeName)}-s${fingerprint(deploymentId)}`;
}

/** A ConfigMap key for a file (keys may not contain "/"). */
export const fileKey = (file: Pick<IntentFile, 'path'>) => `f${fingerprint(file.path)}`;

/** Label values are at most 63 characters of [A-Za-z0-9_.-]; the deployment id and version go in annotations. */
export function selectorLabels(application: string, nodeName: string): Record<string, string> {
  return { [LABELS.managed]: 'true', [LABELS.application]: application, [KUBE_LABELS.node]: nodeName.length <= 63 ? nodeName : fingerprint(nodeName) };
}

export interface KubeObjectMeta {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface KubeConfigMap {
  apiVersion: 'v1';
  kind: 'ConfigMap';
  metadata: KubeObjectMeta;
  immutable: true;
  data: Record<string, string>;
}

/** A Secret as rendered: its keys and the references their values come from; the target resolves them. */
export interface KubeSecretPlan {
  metadata: KubeObjectMeta;
  refs: Record<string, string>;
}

export interface KubeDeployment {
  apiVersion: 'apps/v1';
  kind: 'Deployment';
  metadata: KubeObjectMeta & { annotations: Record<string, string> };
  spec: {
    replicas: number;
    revisionHistoryLimit: number;
    strategy: { type: 'Recreate' };
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string>; annotations: Record<string, string> }; spec: KubePodSpec };
  };
}

/** A pod spec as rendered: what the API server takes, with its containers reachable for the one-shot pods made from it. */
export type KubePodSpec = Record<string, unknown> & { containers: Record<string, unknown>[] };

export interface KubeWorkload {
  name: string;
  deployment: KubeDeployment;
  configMap?: KubeConfigMap;
  secret?: KubeSecretPlan;
}

/**
 * What a Kubernetes workload here cannot do that a bare engine can: refused with the reason,
 * before anything is created.
 */
export function kubernetesProblems(intent: NodeIntent): string[] {
  const problems: string[] = [];
  if (intent.access.devices.length > 0) problems.push('devices: a pod cannot be given host devices without a device plugin');
  if (intent.volumes.length > 0) problems.push('volumes: named volumes are not delivered to Kubernetes nodes (use a host path the node allows)');
  if (intent.network !== 'host' && intent.network !== 'bridge') problems.push(`network "${intent.network}": a pod runs on the node's network (host) or the pod network (bridge)`);
  if (intent.stop.signal !== undefined) problems.push('stopSignal: a pod is stopped with its image\'s STOPSIGNAL (or SIGTERM)');
  if (intent.init) problems.push('init: a pod has no injected init process');
  if (intent.application.endsWith('-')) problems.push(`application name "${intent.application}": a Kubernetes label value must end with a letter or digit`);
  const bytes = intent.files.reduce((n, f) => n + new TextEncoder().encode(f.content).length, 0);
  if (bytes > CONFIG_MAP_BYTES) problems.push(`files: ${bytes} bytes in all; a ConfigMap holds at most ${CONFIG_MAP_BYTES}`);
  return problems;
}

/** What the API server takes in one ConfigMap (etcd's object limit), less room for its metadata. */
const CONFIG_MAP_BYTES = 1_000_000;

const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

/** The Deployment (and its ConfigMap and Secret) that runs `intent` on the node `nodeName` in `namespace`. */
export function renderWorkload(intent: NodeIntent, nodeName: string, namespace: string): KubeWorkload {
  const problems = kubernetesProblems(intent);
  if (problems.length > 0) throw new InvalidContainerError(`on a Kubernetes node: ${problems.join('; ')}`);
  const name = workloadName(intent.application, nodeName);
  const selector = selectorLabels(intent.application, nodeName);
  const owned = selector;
  const ownedAnnotations = { [LABELS.deployment]: intent.deploymentId };
  const claims = hostPortClaims(intent).join(',');
  const { probe, policy } = intent.health;
  const configMap: KubeConfigMap | undefined =
    intent.files.length > 0
      ? {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: configMapName(intent.application, nodeName, intent.deploymentId), namespace, labels: owned, annotations: ownedAnnotations },
          immutable: true,
          data: Object.fromEntries(intent.files.map((f) => [fileKey(f), f.content])),
        }
      : undefined;
  const secret: KubeSecretPlan | undefined =
    intent.secrets.length > 0
      ? {
          metadata: { name: secretObjectName(intent.application, nodeName, intent.deploymentId), namespace, labels: owned, annotations: ownedAnnotations },
          refs: Object.fromEntries(intent.secrets.map((s) => [s.name, s.ref])),
        }
      : undefined;
  const readinessProbe =
    probe.kind === 'http'
      ? { httpGet: { port: probe.port, path: probe.path } }
      : probe.kind === 'tcp'
        ? { tcpSocket: { port: probe.port } }
        : probe.kind === 'exec'
          ? { exec: { command: probe.command } }
          : undefined;
  const container: Record<string, unknown> = {
    name: APP_CONTAINER,
    image: intent.image,
    // The request's command replaces the image's CMD, as on a Docker Engine: `args`, not `command` (the ENTRYPOINT).
    ...(intent.command !== undefined ? { args: intent.command } : {}),
    // A secret's value is never in the environment (the pod spec would show it); its file's path is.
    env: [...Object.entries(intent.env).map(([k, v]) => ({ name: k, value: v })), ...intent.secrets.map((s) => ({ name: `${s.name}_FILE`, value: s.path }))],
    ...(intent.network === 'bridge' && intent.ports.length > 0
      ? { ports: intent.ports.map((p) => ({ containerPort: p.container, hostPort: p.host, protocol: p.protocol.toUpperCase() })) }
      : {}),
    ...(intent.resources !== undefined
      ? {
          resources: {
            limits: {
              ...(intent.resources.memoryMb !== undefined ? { memory: `${intent.resources.memoryMb}Mi` } : {}),
              ...(intent.resources.cpus !== undefined ? { cpu: `${Math.max(1, Math.round(intent.resources.cpus * 1000))}m` } : {}),
            },
          },
        }
      : {}),
    // Kubernetes' own readiness gate; the Deployer still probes from outside (its interval may be shorter than a second).
    ...(readinessProbe !== undefined
      ? { readinessProbe: { ...readinessProbe, periodSeconds: seconds(policy.intervalMs), timeoutSeconds: seconds(policy.timeoutMs), successThreshold: Math.max(1, policy.healthyAfter), failureThreshold: 1 } }
      : {}),
    ...(intent.access.privileged || intent.access.capabilities.length > 0
      ? { securityContext: { ...(intent.access.privileged ? { privileged: true } : {}), ...(intent.access.capabilities.length > 0 ? { capabilities: { add: intent.access.capabilities } } : {}) } }
      : {}),
    volumeMounts: [
      ...intent.files.map((f) => ({ name: 'files', mountPath: f.path, subPath: fileKey(f), readOnly: true })),
      ...(intent.secrets.length > 0 ? [{ name: 'secrets', mountPath: '/run/secrets', readOnly: true }] : []),
      ...intent.access.mounts.map((m, i) => ({ name: `host-${i}`, mountPath: m.target, readOnly: m.readOnly })),
    ],
  };
  const volumes = [
    ...(configMap !== undefined ? [{ name: 'files', configMap: { name: configMap.metadata.name, items: intent.files.map((f) => ({ key: fileKey(f), path: fileKey(f), mode: f.mode })) } }] : []),
    ...(secret !== undefined ? [{ name: 'secrets', secret: { secretName: secret.metadata.name, items: intent.secrets.map((s) => ({ key: s.name, path: s.name, mode: 0o400 })) } }] : []),
    ...intent.access.mounts.map((m, i) => ({ name: `host-${i}`, hostPath: { path: m.source } })),
  ];
  // On the Deployment and on its pod template: a restore to an earlier revision takes them back from its ReplicaSet.
  const annotations = {
    [LABELS.deployment]: intent.deploymentId,
    [LABELS.version]: intent.version,
    [LABELS.restartPolicy]: intent.restartPolicy,
    ...(claims !== '' ? { [LABELS.ports]: claims } : {}),
  };
  const deployment: KubeDeployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels: selector, annotations },
    spec: {
      replicas: intent.replicas,
      // The previous revision is what a restore goes back to.
      revisionHistoryLimit: 10,
      // Old pods stop before new ones start: a host port cannot be held twice.
      strategy: { type: 'Recreate' },
      selector: { matchLabels: selector },
      template: {
        metadata: { labels: selector, annotations },
        spec: {
          // Exactly the node the Scheduler chose, without the scheduler.
          nodeName,
          ...(intent.network === 'host' ? { hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' } : {}),
          ...(intent.access.pid === 'host' ? { hostPID: true } : {}),
          ...(intent.access.ipc === 'host' ? { hostIPC: true } : {}),
          // A Deployment's pods always restart in place; the Deployer's verification fails a node whose pod restarts.
          restartPolicy: 'Always',
          terminationGracePeriodSeconds: Math.ceil(intent.stop.gracePeriodMs / 1000),
          // The application gets no API credentials and no service variables it did not ask for.
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          containers: [container],
          ...(volumes.length > 0 ? { volumes } : {}),
        },
      },
    },
  };
  return { name, deployment, ...(configMap !== undefined ? { configMap } : {}), ...(secret !== undefined ? { secret } : {}) };
}

// One-shot pods: the configuration check and the test containers. A bare pod, pinned to
// the node, never restarted, deleted by the target once it ended. Labelled with its role and
// without the `managed` label, so that no Deployment's selector matches it (its ReplicaSet
// would adopt the pod and count it as one of its replicas) and the verbs that look for
// instances never see it.

export interface KubePod {
  apiVersion: 'v1';
  kind: 'Pod';
  metadata: KubeObjectMeta & { annotations: Record<string, string> };
  spec: KubePodSpec;
}

/** The configuration check's pod, with the ConfigMap and the Secret of the deployment it mounts: the same objects apply puts in place after it. */
export interface KubeConfigCheck {
  pod: KubePod;
  configMap?: KubeConfigMap;
  secret?: KubeSecretPlan;
}

/** A test container's pod, with the plan of the Secret of its own that delivers the test's secrets. */
export interface KubeTestPod {
  pod: KubePod;
  secret?: KubeSecretPlan;
}

/** The object without the named keys. */
function omit<T extends Record<string, unknown>>(o: T, ...keys: string[]): T {
  return Object.fromEntries(Object.entries(o).filter(([k]) => !keys.includes(k))) as T;
}

/**
 * A Deployment's pod as a bare pod of the Deployment's own name (no pod of the Deployer's
 * has it), for a dry run: a namespace's pod security judges pods, not Deployments, and a
 * Deployment it would not let run is stored all the same, its pods then refused one by one
 * where nobody waits for them. Asked first, with nothing changed on the node yet.
 */
export function workloadPod(workload: KubeWorkload): KubePod {
  const { metadata, spec } = workload.deployment.spec.template;
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: workload.name, namespace: workload.deployment.metadata.namespace, ...metadata }, spec };
}

/** The labels of every one-shot pod (and a test's Secret) of the application on the node: what a restore or a remove finds leftovers by. */
export function oneShotLabels(application: string, nodeName: string, role?: string): Record<string, string> {
  return { ...omit(selectorLabels(application, nodeName), LABELS.managed), ...(role !== undefined ? { [LABELS.role]: role } : {}) };
}

/** Deterministic, so that a check run again after a crash finds and replaces its leftover; within 63 characters (a DNS label). */
export function configCheckPodName(application: string, nodeName: string, deploymentId: string): string {
  return `${workloadName(application, nodeName)}-c${fingerprint(deploymentId)}`;
}

/** The pod of one test (and the name of its Secret): deterministic, within 63 characters. */
export function testPodName(application: string, nodeName: string, deploymentId: string, test: string): string {
  return `${workloadName(application, nodeName)}-t${fingerprint(`${deploymentId}/${test}`)}`;
}

function oneShotMeta(intent: NodeIntent, name: string, nodeName: string, namespace: string, role: string) {
  return { name, namespace, labels: oneShotLabels(intent.application, nodeName, role), annotations: { [LABELS.deployment]: intent.deploymentId, [LABELS.version]: intent.version } };
}

/**
 * The configuration check: the application's pod as its Deployment would run it (image,
 * env, files, secrets, mounts, network), running the check's command once instead (as `args`,
 * like the application's command), with no port and no probe, so that it runs beside the
 * version it is to replace.
 */
export function renderConfigCheckPod(intent: NodeIntent, nodeName: string, namespace: string): KubeConfigCheck {
  const { deployment, configMap, secret } = renderWorkload(intent, nodeName, namespace);
  const spec = deployment.spec.template.spec;
  const app = omit(spec.containers[0]!, 'ports', 'readinessProbe', 'args');
  const pod: KubePod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: oneShotMeta(intent, configCheckPodName(intent.application, nodeName, intent.deploymentId), nodeName, namespace, ONE_SHOT_ROLES.configCheck),
    spec: { ...spec, restartPolicy: 'Never', containers: [{ ...app, name: 'config-check', args: intent.configCheck!.command }] },
  };
  return { pod, ...(configMap !== undefined ? { configMap } : {}), ...(secret !== undefined ? { secret } : {}) };
}

/**
 * A test container's pod on the node, against the new version: on the node's network when
 * the application is (it reaches it at 127.0.0.1), else on the pod network (it reaches it at
 * the node's address). Told where and what it tests in DEPLOYER_* variables, as on a Docker
 * Engine; its secrets are files from a Secret of its own.
 */
export function renderTestPod(intent: NodeIntent, test: ContainerTest, nodeName: string, nodeAddress: string, namespace: string): KubeTestPod {
  const host = intent.network === 'host';
  const name = testPodName(intent.application, nodeName, intent.deploymentId, test.name);
  const meta = oneShotMeta(intent, name, nodeName, namespace, ONE_SHOT_ROLES.test);
  const env = testContainerEnv(intent, test, nodeAddress);
  const secrets = test.secrets.length > 0;
  const pod: KubePod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: meta,
    spec: {
      nodeName,
      ...(host ? { hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' } : {}),
      restartPolicy: 'Never',
      // Nothing to finish cleanly: a test cut short by its timeout is of no further use.
      terminationGracePeriodSeconds: 0,
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      containers: [
        {
          name: 'test',
          image: test.image,
          ...(test.command !== undefined ? { args: test.command } : {}),
          env: [...Object.entries(env).map(([k, v]) => ({ name: k, value: v })), ...test.secrets.map((s) => ({ name: `${s.name}_FILE`, value: s.path }))],
          volumeMounts: secrets ? [{ name: 'secrets', mountPath: '/run/secrets', readOnly: true }] : [],
        },
      ],
      ...(secrets ? { volumes: [{ name: 'secrets', secret: { secretName: name, items: test.secrets.map((s) => ({ key: s.name, path: s.name, mode: 0o400 })) } }] } : {}),
    },
  };
  const secret: KubeSecretPlan | undefined = secrets ? { metadata: meta, refs: Object.fromEntries(test.secrets.map((s) => [s.name, s.ref])) } : undefined;
  return { pod, ...(secret !== undefined ? { secret } : {}) };
}
