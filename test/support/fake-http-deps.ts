// Fake dependencies for unit tests of the HTTP API (src/http/deps.ts): an in-memory tokens
// file, a fixed inventory, and a record of what would have been produced to Kafka. Only unit
// tests that say "fake" in their names use it; the integration test runs the real ones.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../../src/http/app';
import { fileTokenStore, newToken, type Role, type TokenEntry } from '../../src/http/auth';
import type { HttpDeps } from '../../src/http/deps';
import type { DeploymentView } from '../../src/operations/describe';
import { inventorySchema } from '../../src/core/schemas/inventory';
import type { Request } from '../../src/core/schemas/request';
import type { StatusEvent } from '../../src/core/schemas/event';

const node = (id: string) => ({ id, docker: { host: id, port: 2375, insecure: true }, address: id });
export const fakeInventory = inventorySchema.parse({
  registry: { push: '127.0.0.1:5000', pull: '10.77.0.1:5000' },
  buildHost: { docker: { socketPath: '/run/docker.sock' } },
  nodes: [node('fog-1'), node('fog-2')],
});

export interface FakeApi {
  app: ReturnType<typeof createApp>;
  deps: HttpDeps;
  sent: { key: string; request: Request }[];
  deployments: Map<string, DeploymentView>;
  /** The events the fake's stream sends, each deployment's until its last here. */
  events: StatusEvent[];
  tokensFile: string;
  /** A token of `role`, written to the tokens file. */
  token(role: Role, name?: string): string;
  entries: TokenEntry[];
  writeTokens(entries: TokenEntry[]): void;
}

export function fakeApi(overrides: Partial<HttpDeps> = {}): FakeApi {
  const tokensFile = join(mkdtempSync(join(tmpdir(), 'deployer-http-')), 'tokens.jsonl');
  const sent: FakeApi['sent'] = [];
  const deployments = new Map<string, DeploymentView>();
  const events: StatusEvent[] = [];
  const entries: TokenEntry[] = [];
  const writeTokens = (list: TokenEntry[]) => writeFileSync(tokensFile, list.map((e) => `${JSON.stringify(e)}\n`).join(''));
  const deps: HttpDeps = {
    tokens: fileTokenStore(tokensFile),
    parseContext: () => ({ inventory: fakeInventory, gitPrefixes: [], maxBytes: 1024 * 1024 }),
    send: async (key, request) => {
      sent.push({ key, request });
    },
    describe: async (id) => deployments.get(id),
    record: async () => undefined,
    list: async () => [],
    records: async () => [],
    nodes: async () => [],
    events: async (id, afterSeq, each) => {
      for (const event of events.filter((e) => e.deploymentId === id && e.seq > afterSeq)) await each(event);
    },
    decide: async (id) => ({ ok: false, unknown: true, message: `no running deployment '${id}'` }),
    unreachable: async () => [],
    ...overrides,
  };
  return {
    app: createApp(deps),
    deps,
    sent,
    deployments,
    events,
    tokensFile,
    entries,
    writeTokens,
    token(role, name = `${role}-${entries.length}`) {
      const { token, entry } = newToken(name, role);
      entries.push(entry);
      writeTokens(entries);
      return token;
    },
  };
}
