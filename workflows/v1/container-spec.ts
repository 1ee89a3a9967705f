// Frozen: the container specs of the first workflow shape (v1), which built the Docker
// Engine API's create bodies in workflow code. Recorded histories of that shape replay
// against this file, so it must not change; new code renders intents in
// src/core/renderers/docker-engine.ts, which names and labels containers the same way.
import type { ContainerCreateOptions } from 'dockerode';
import { LABELS } from '../../src/core/labels';
import type { PlannedNode } from '../../src/core/plan';
import { containerName } from '../../src/core/renderers/docker-engine';
import { privilegedHostConfig } from '../../src/core/node-policy';
import type { DeployRequest, HealthCheck } from '../../src/core/schemas/request';

export interface ContainerFile {
  path: string;
  content: string;
  mode: number;
}

/** Where a secret is delivered: a file readable only by the container's user. */
export const SECRETS_DIR = '/run/secrets';

export interface ContainerSecret {
  /** Reference for the secret provider; the value is resolved only inside the activity. */
  ref: string;
  path: string;
}

export interface ContainerSpec {
  name: string;
  /** Body of POST /containers/create, without the name. */
  create: ContainerCreateOptions;
  /** Delivered into the container after it is created and before it starts. */
  files: ContainerFile[];
  secrets: ContainerSecret[];
}

export interface SpecInput {
  request: DeployRequest;
  node: PlannedNode;
  image: string;
  replica: number;
  /** Names of the application's containers that run on the node now and that this one replaces. */
  previous: readonly string[];
}

/** One container port may be published on several host ports: the engine takes a list per port. */
function portBindings(ports: readonly { key: string; host: number }[]): Record<string, { HostPort: string }[]> {
  const bindings: Record<string, { HostPort: string }[]> = {};
  for (const p of ports) (bindings[p.key] ??= []).push({ HostPort: String(p.host) });
  return bindings;
}

export function containerSpec({ request, image, replica, previous }: SpecInput): ContainerSpec {
  const { application, deploymentId, container } = request;
  const bridged = container.network === 'bridge';
  const ports = container.ports.map((p) => ({ key: `${p.container}/${p.protocol}`, host: p.host ?? p.container }));
  const create: ContainerCreateOptions = {
    Image: image,
    // A secret's value is never in the environment (docker inspect shows it); its file's path is.
    Env: [...Object.entries(container.env).map(([k, v]) => `${k}=${v}`), ...container.secrets.map((s) => `${s.name}_FILE=${SECRETS_DIR}/${s.name}`)],
    Labels: {
      [LABELS.managed]: 'true',
      [LABELS.application]: application.name,
      [LABELS.version]: application.version,
      [LABELS.deployment]: deploymentId,
      [LABELS.replica]: String(replica),
      [LABELS.previous]: previous.join(','),
      [LABELS.restartPolicy]: container.restartPolicy,
    },
    HostConfig: {
      NetworkMode: container.network,
      RestartPolicy: { Name: container.restartPolicy },
      // With host networking the container's ports are the node's; bindings apply only to a bridge.
      ...(bridged && ports.length > 0 ? { PortBindings: portBindings(ports) } : {}),
      ...(container.volumes.length > 0
        ? { Mounts: container.volumes.map((v) => ({ Type: 'volume' as const, Source: v.name, Target: v.target, ReadOnly: v.readOnly })) }
        : {}),
      ...(container.resources?.memoryMb !== undefined ? { Memory: container.resources.memoryMb * 1024 * 1024 } : {}),
      ...(container.resources?.cpus !== undefined ? { NanoCpus: Math.round(container.resources.cpus * 1e9) } : {}),
      ...privilegedHostConfig(container),
    },
  };
  if (container.command !== undefined) create.Cmd = container.command;
  if (bridged && ports.length > 0) create.ExposedPorts = Object.fromEntries(ports.map((p) => [p.key, {}]));
  return {
    name: containerName(application.name, deploymentId, replica),
    create,
    files: container.files.map((f) => ({ path: f.path, content: f.content, mode: f.mode ?? 0o644 })),
    secrets: container.secrets.map((s) => ({ ref: s.ref, path: `${SECRETS_DIR}/${s.name}` })),
  };
}

export function containerSpecs(request: DeployRequest, node: PlannedNode, image: string, previous: readonly string[]): ContainerSpec[] {
  return Array.from({ length: request.replicasPerNode }, (_, replica) => containerSpec({ request, node, image, replica, previous }));
}

/** A health check made concrete for one container on one node. */
export type HealthTarget =
  | { kind: 'http'; url: string }
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'exec'; command: string[] }
  | { kind: 'docker' }
  | { kind: 'running' };

export interface HealthPolicy {
  intervalMs: number;
  timeoutMs: number;
  healthyAfter: number;
  deadlineMs: number;
}

/** Without a health check a container counts as healthy once it is running for one interval. */
export const DEFAULT_HEALTH_POLICY: HealthPolicy = { intervalMs: 1000, timeoutMs: 2000, healthyAfter: 1, deadlineMs: 60_000 };

/** Where a probe reaches a container port: the port itself on a host network, its host binding on a bridge. */
function reachablePort(request: DeployRequest, containerPort: number): number {
  if (request.container.network !== 'bridge') return containerPort;
  const binding = request.container.ports.find((p) => p.container === containerPort && p.protocol === 'tcp');
  return binding?.host ?? containerPort;
}

export function healthTarget(request: DeployRequest, node: PlannedNode, check: HealthCheck | undefined): HealthTarget {
  if (check === undefined) return { kind: 'running' };
  if (check.http) {
    const host = node.address.includes(':') ? `[${node.address}]` : node.address;
    return { kind: 'http', url: `http://${host}:${reachablePort(request, check.http.port)}${check.http.path}` };
  }
  if (check.tcp) return { kind: 'tcp', host: node.address, port: reachablePort(request, check.tcp.port) };
  if (check.exec) return { kind: 'exec', command: check.exec.command };
  return { kind: 'docker' };
}

export function healthPolicy(check: HealthCheck | undefined): HealthPolicy {
  if (check === undefined) return DEFAULT_HEALTH_POLICY;
  const { intervalMs, timeoutMs, healthyAfter, deadlineMs } = check;
  return { intervalMs, timeoutMs, healthyAfter, deadlineMs };
}
