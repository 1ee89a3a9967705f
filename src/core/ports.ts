// Host ports: a node's host ports are shared by every application on it, so a deployment
// claims the ones it will listen on (a label on what it creates) and is refused on a node
// where another application holds one of them, before anything there is touched: otherwise
// its container would crash on "address already in use" while the other application
// answered its health check. Pure: tested by equality.
import type { NodeIntent } from './intent';
import type { DeployRequest } from './schemas/request';

/** `8080/tcp`: a host port and its protocol. */
export type PortClaim = string;

/**
 * The host ports the intent's instances listen on: on the host network the container ports
 * (and the port its http or tcp health check probes), on a bridge the published host ports;
 * none without a network.
 */
export function hostPortClaims(intent: Pick<NodeIntent, 'network' | 'ports' | 'health'>): PortClaim[] {
  if (intent.network === 'none') return [];
  const claims = intent.ports.map((p) => `${intent.network === 'host' ? p.container : p.host}/${p.protocol}`);
  const probe = intent.health.probe;
  if (intent.network === 'host' && (probe.kind === 'http' || probe.kind === 'tcp')) claims.push(`${probe.port}/tcp`);
  return [...new Set(claims)];
}

export interface PortHolder {
  application: string;
  deploymentId: string;
  ports: readonly PortClaim[];
}

/** Each claimed port that another application's running instance holds, with its holder. */
export function portClashes(application: string, claims: readonly PortClaim[], holders: readonly PortHolder[]): { port: PortClaim; holder: PortHolder }[] {
  return claims.flatMap((port) => holders.filter((h) => h.application !== application && h.ports.includes(port)).map((holder) => ({ port, holder })));
}

export function describeClashes(nodeId: string, clashes: ReturnType<typeof portClashes>): string {
  return clashes.map(({ port, holder }) => `host port ${port} on ${nodeId} is held by application ${holder.application} (deployment ${holder.deploymentId})`).join('; ');
}

/** Where a probe from outside reaches a container's tcp port: the port itself on a host network, its host binding on a bridge. */
export function reachablePort(intent: { network: NodeIntent['network']; ports: readonly { container: number; host?: number; protocol: string }[] }, containerPort: number): number {
  if (intent.network !== 'bridge') return containerPort;
  return intent.ports.find((p) => p.container === containerPort && p.protocol === 'tcp')?.host ?? containerPort;
}

/** A port of a node that the Deployer itself connects to for a request, and what in the request makes it. */
export interface ReachedPort {
  port: number;
  path: (string | number)[];
  what: string;
}

/**
 * The node ports a request's http or tcp health check and its http tests connect to, from the
 * worker to the node's address: what the node policy keeps off the node's own services.
 */
export function reachedPorts(request: { container?: Partial<Pick<DeployRequest['container'], 'network' | 'ports'>> } & Partial<Pick<DeployRequest, 'healthCheck' | 'verify'>>): ReachedPort[] {
  const { network = 'host', ports = [] } = request.container ?? {};
  const at = (port: number) => reachablePort({ network, ports }, port);
  const out: ReachedPort[] = [];
  const { http, tcp } = request.healthCheck ?? {};
  if (http !== undefined) out.push({ port: at(http.port), path: ['healthCheck', 'http', 'port'], what: 'the health check' });
  else if (tcp !== undefined) out.push({ port: at(tcp.port), path: ['healthCheck', 'tcp', 'port'], what: 'the health check' });
  (request.verify?.tests ?? []).forEach((t, i) => {
    if (t.http !== undefined) out.push({ port: at(t.http.port), path: ['verify', 'tests', i, 'http', 'port'], what: `test "${t.name}"` });
  });
  return out;
}
