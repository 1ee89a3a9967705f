// Health probes that reach a node from the worker: an HTTP GET and a TCP connect at the
// node's address. Every target uses them for `http` and `tcp` health checks; probes that
// run inside an instance (exec) or read the target's own health state are the target's.
import type { NodeIntent } from '../../src/core/intent';
import { reachablePort } from '../../src/core/ports';
import { connect } from 'node:net';

/** One probe: undefined when healthy, else what is wrong, in words for the operator. */
export type Probe = () => Promise<string | undefined>;

export function httpProbe(url: string, timeoutMs: number): Probe {
  return async () => {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
      await res.body?.cancel();
      return res.status >= 200 && res.status < 400 ? undefined : `GET ${url} answered ${res.status}`;
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code;
      return `GET ${url} failed: ${cause ?? (err as Error).message}`;
    }
  };
}

export function tcpProbe(host: string, port: number, timeoutMs: number): Probe {
  return () =>
    new Promise((resolve) => {
      const socket = connect({ host, port });
      const done = (problem: string | undefined) => {
        socket.destroy();
        resolve(problem);
      };
      socket.setTimeout(timeoutMs, () => done(`tcp ${host}:${port} timed out after ${timeoutMs} ms`));
      socket.once('connect', () => done(undefined));
      socket.once('error', (err: NodeJS.ErrnoException) => done(`tcp ${host}:${port}: ${err.code ?? err.message}`));
    });
}

/** A URL for a host that may be an IPv6 address. */
export function httpUrl(host: string, port: number, path: string): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}${path}`;
}

/**
 * The request's http or tcp health check as a probe from outside, against the node's address
 * and the port the container is reached at there; undefined for checks only the target can run.
 */
export function outsideProbe(address: string, intent: NodeIntent): Probe | undefined {
  const { probe, policy } = intent.health;
  if (probe.kind === 'http') return httpProbe(httpUrl(address, reachablePort(intent, probe.port), probe.path), policy.timeoutMs);
  if (probe.kind === 'tcp') return tcpProbe(address, reachablePort(intent, probe.port), policy.timeoutMs);
  return undefined;
}
