// Host ports: a node's host ports are shared by every application on it, so a deployment
// claims the ones it will listen on (a label on what it creates) and is refused on a node
// where another application holds one of them, before anything there is touched: otherwise
// its container would crash on "address already in use" while the other application
// answered its health check. Pure: tested by equality.
import type { NodeIntent } from './intent';

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
