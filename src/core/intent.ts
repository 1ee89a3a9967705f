// The neutral intent: what one node should run, said once for every kind of target. The
// workflow turns a validated request into it and hands it to the node's target, which
// renders it into its own API body (a Docker Engine create body, a Swarm service spec, a
// Kubernetes workload). It travels in workflow history, so it holds secret *references*
// only, never values.
// Pure: built inside workflow code.
import { intentTest, type ConfigCheck, type IntentTest } from './deployment-tests';
import { scopedSecretRef } from './secret-scope';
import type { NodeAccessOptions } from './node-policy';
import type { ContainerOptions, DeployRequest, HealthCheck } from './schemas/request';

/** How a container is probed; where the probe reaches it is the target's business. */
export type HealthProbe =
  | { kind: 'http'; port: number; path: string }
  | { kind: 'tcp'; port: number }
  | { kind: 'exec'; command: string[] }
  /** The image's own HEALTHCHECK, as the engine reports it. */
  | { kind: 'image' }
  /** No health check: running counts as healthy. */
  | { kind: 'running' };

export interface HealthPolicy {
  intervalMs: number;
  timeoutMs: number;
  healthyAfter: number;
  deadlineMs: number;
}

/** Without a health check a container counts as healthy once it is running for one interval. */
export const DEFAULT_HEALTH_POLICY: HealthPolicy = { intervalMs: 1000, timeoutMs: 2000, healthyAfter: 1, deadlineMs: 60_000 };

/** Docker's default: a stopped container gets SIGTERM (or the image's STOPSIGNAL) and is killed 10 s later. */
export const DEFAULT_STOP_GRACE_MS = 10_000;

export interface IntentFile {
  path: string;
  content: string;
  mode: number;
}

/** Where a secret is delivered: a file readable only by the container's user. */
export const SECRETS_DIR = '/run/secrets';

export interface IntentSecret {
  name: string;
  /** Reference for the secret provider; the value is resolved only inside the activity that delivers it. */
  ref: string;
  path: string;
}

export interface NodeIntent {
  deploymentId: string;
  application: string;
  version: string;
  /**
   * As the node pulls it: a built image by digest from the registry the node sees, or the
   * prebuilt one named; with `images`, the first of those (each node gets the one for its platform).
   */
  image: string;
  /** Prebuilt images by platform (`linux/arm64`), when the request names one per platform. */
  images?: Record<string, string>;
  replicas: number;
  command?: string[];
  env: Record<string, string>;
  files: IntentFile[];
  secrets: IntentSecret[];
  ports: { container: number; host: number; protocol: 'tcp' | 'udp' }[];
  volumes: { name: string; target: string; readOnly: boolean }[];
  network: ContainerOptions['network'];
  restartPolicy: ContainerOptions['restartPolicy'];
  resources?: { memoryMb?: number; cpus?: number };
  stop: { signal?: string; gracePeriodMs: number };
  /** Run an init process as PID 1 that forwards signals and reaps children. */
  init: boolean;
  /** Options past the container's sandbox, each allowed by the node's policy. */
  access: Required<Omit<NodeAccessOptions, 'network'>>;
  health: { probe: HealthProbe; policy: HealthPolicy };
  /** Run before the previous version is stopped; absent when the request has none. */
  configCheck?: ConfigCheck;
  /** Run after the health check passed, before anything older is retired; absent when the request has none. */
  tests?: IntentTest[];
}

export function healthProbe(check: HealthCheck | undefined): HealthProbe {
  if (check === undefined) return { kind: 'running' };
  if (check.http) return { kind: 'http', port: check.http.port, path: check.http.path };
  if (check.tcp) return { kind: 'tcp', port: check.tcp.port };
  if (check.exec) return { kind: 'exec', command: check.exec.command };
  return { kind: 'image' };
}

export function healthPolicy(check: HealthCheck | undefined): HealthPolicy {
  if (check === undefined) return DEFAULT_HEALTH_POLICY;
  const { intervalMs, timeoutMs, healthyAfter, deadlineMs } = check;
  return { intervalMs, timeoutMs, healthyAfter, deadlineMs };
}

/** The intent of a request on a node that pulls `image`. */
export function nodeIntent(request: DeployRequest, image: string): NodeIntent {
  const { container } = request;
  return {
    deploymentId: request.deploymentId,
    application: request.application.name,
    version: request.application.version,
    image,
    replicas: request.replicasPerNode,
    ...(request.application.images !== undefined ? { images: request.application.images } : {}),
    ...(container.command !== undefined ? { command: container.command } : {}),
    env: container.env,
    files: container.files.map((f) => ({ path: f.path, content: f.content, mode: f.mode ?? 0o644 })),
    secrets: container.secrets.map((s) => ({ name: s.name, ref: scopedSecretRef(request.application.name, s.ref), path: `${SECRETS_DIR}/${s.name}` })),
    ports: container.ports.map((p) => ({ container: p.container, host: p.host ?? p.container, protocol: p.protocol })),
    volumes: container.volumes,
    network: container.network,
    restartPolicy: container.restartPolicy,
    ...(container.resources !== undefined ? { resources: container.resources } : {}),
    // Requests recorded before these options existed lack them: Docker's own defaults.
    stop: { ...(container.stopSignal !== undefined ? { signal: container.stopSignal } : {}), gracePeriodMs: container.stopGracePeriodMs ?? DEFAULT_STOP_GRACE_MS },
    init: container.init ?? false,
    // Requests recorded before these options existed (in older histories) lack them.
    access: {
      privileged: container.privileged ?? false,
      capabilities: container.capabilities ?? [],
      devices: container.devices ?? [],
      pid: container.pid ?? 'private',
      ipc: container.ipc ?? 'private',
      mounts: container.mounts ?? [],
    },
    health: { probe: healthProbe(request.healthCheck), policy: healthPolicy(request.healthCheck) },
    // Only when asked for: the intents of earlier requests, as their histories hold them, stay as they were.
    ...(container.configCheck !== undefined ? { configCheck: { command: container.configCheck.command, timeoutMs: container.configCheck.timeoutMs } } : {}),
    ...(request.verify !== undefined && request.verify.tests.length > 0 ? { tests: request.verify.tests.map((t) => intentTest(t, request.application.name)) } : {}),
  };
}
