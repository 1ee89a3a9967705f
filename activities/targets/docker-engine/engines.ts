// Docker Engine clients for the build host and every inventory node, made from the
// inventory's endpoints (unix socket, TCP with TLS client certificates, or plain TCP where
// the inventory says "insecure").
import { readFileSync } from 'node:fs';
import Docker from 'dockerode';
import { EngineUnreachableError, ImageNotFoundError, InvalidContainerError, InvalidInventoryError, UnknownNodeError } from '../../../src/core/errors';
import { plainEngineMessage, type DockerEndpoint, type Inventory } from '../../../src/core/schemas/inventory';

export function dockerClient(endpoint: DockerEndpoint, timeoutMs?: number): Docker {
  if ('socketPath' in endpoint) return new Docker({ socketPath: endpoint.socketPath, timeout: timeoutMs });
  if (endpoint.tls === undefined) {
    // The inventory's schema already refuses this; an endpoint made in code is held to the same rule.
    if (endpoint.insecure !== true) throw new InvalidInventoryError(plainEngineMessage(endpoint.host, endpoint.port));
    return new Docker({ host: endpoint.host, port: endpoint.port, protocol: 'http', timeout: timeoutMs });
  }
  return new Docker({
    host: endpoint.host,
    port: endpoint.port,
    protocol: 'https',
    ca: readFileSync(endpoint.tls.ca),
    cert: readFileSync(endpoint.tls.cert),
    key: readFileSync(endpoint.tls.key),
    timeout: timeoutMs,
  });
}

/**
 * Looks nodes up in the current inventory on every call, so a Node Manager's changes apply
 * without restarting the worker; clients are kept per endpoint.
 */
export class Engines {
  private readonly clients = new Map<string, Docker>();

  constructor(private readonly inventory: () => Inventory) {}

  /** The engine of a node whose target is a Docker Engine. */
  node(nodeId: string): Docker {
    const node = this.inventory().nodes.find((n) => n.id === nodeId);
    if (node === undefined) throw new UnknownNodeError(nodeId);
    if (node.target.kind !== 'docker-engine') throw new UnknownNodeError(nodeId);
    return this.client(node.target.docker);
  }

  buildHost(): Docker {
    return this.client(this.inventory().buildHost.docker);
  }

  client(endpoint: DockerEndpoint): Docker {
    const key = JSON.stringify(endpoint);
    let client = this.clients.get(key);
    if (client === undefined) {
      client = dockerClient(endpoint);
      this.clients.set(key, client);
    }
    return client;
  }
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'ECONNRESET', 'EPIPE', 'ENOENT', 'EAI_AGAIN']);

interface EngineError {
  statusCode?: number;
  code?: string;
  json?: { message?: string };
  message?: string;
}

export function statusOf(err: unknown): number | undefined {
  return (err as EngineError)?.statusCode;
}

/** Turns an engine's error into a named Deployer error whose type decides retries. */
export function engineError(nodeId: string, err: unknown, what: string): Error {
  const e = err as EngineError;
  if (e?.code !== undefined && UNREACHABLE.has(e.code)) return new EngineUnreachableError(nodeId, { cause: err, detail: `its Docker Engine does not answer (${e.code})` });
  if (e?.statusCode === 404 && what.startsWith('image ')) return new ImageNotFoundError(what.slice(6), { cause: err });
  const detail = e?.json?.message ?? e?.message ?? String(err);
  if (e?.statusCode === 400 || e?.statusCode === 409) return new InvalidContainerError(`${what} on ${nodeId}: ${detail}`, { cause: err });
  return new Error(`${what} on ${nodeId} failed: ${detail}`, { cause: err });
}
