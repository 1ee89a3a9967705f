// A TOSCA service template on deployer.requests, on the real stack: two applications on two
// fog nodes, the first listed depending on the second, each with a configuration check and an
// http and an exec test. The bridge starts the dependency first and the dependent's rollout
// waits for it; both succeed with every check's result in their records. A redelivery starts
// nothing; a bad template is dead-lettered whole, its reason naming the line and column, and
// starts nothing; the CLI imports a template file, reading --input as the input's type says.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { Inventory } from '../../src/core/schemas/inventory';
import type { DeploymentRecord } from '../../src/core/schemas/record';
import { runCli } from '../support/cli';
import { engineNodes, httpGet, removeApplication, startDeployer, waitFor, type TestDeployer } from '../support/deployer';

jest.setTimeout(300_000);

const stamp = Date.now().toString(36);
const api = `it-tosca-api-${stamp}`;
const web = `it-tosca-web-${stamp}`;
const ports = { api: 18900, web: 18901 };
const templateId = `it-tosca-${stamp}`;
let d: TestDeployer;
let nodes: Inventory['nodes'];
let dir: string;

beforeAll(async () => {
  d = await startDeployer('tosca');
  nodes = engineNodes(d).slice(0, 2);
  dir = mkdtempSync(join(tmpdir(), 'deployer-tosca-'));
});

afterAll(async () => {
  if (d) {
    for (const app of [api, web]) await removeApplication(d, app);
    await d.stop();
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** One application of the template: busybox httpd serving the `greeting` input, checked and tested on each node. */
const application = (template: string, name: string, port: number, requirements: string[]) => `    ${template}:
      type: deployer.nodes.Application
      properties:
        application: { name: ${name}, version: { get_input: version }, image: "${d.inventory.registry.pull}/busybox:1" }
        container:
          command: [sh, -c, "trap 'exit 0' TERM; httpd -f -p ${port} -h /www & wait"]
          ports: [{ container: ${port} }]
          files:
            - path: /www/index.html
              content: { get_input: greeting }
          configCheck:
            command: [sh, -c, "grep -q . /www/index.html"]
            timeoutMs: 10000
        healthCheck: { http: { port: ${port} }, intervalMs: 200 }
        verify:
          tests:
            - name: home
              http: { port: ${port}, path: /, expect: { body: { get_input: greeting } } }
              timeoutMs: 5000
            - name: page
              exec: { command: [cat, /www/index.html], expect: { output: { get_input: greeting } } }
              timeoutMs: 5000
      requirements:
${requirements.map((r) => `        - ${r}\n`).join('')}`;

/** The stack: `web` is listed first and depends on `api`, so only the dependency order puts `api` first. */
const stack = (id: string) => `tosca_definitions_version: tosca_simple_yaml_1_3
description: An api and the web front that depends on it.
metadata:
  template_name: it-tosca
  deploymentId: ${id}
topology_template:
  inputs:
    greeting: { type: string, default: hello from the template }
    version: { type: string, default: "1" }
  node_templates:
    edge-1:
      type: deployer.nodes.Node
      properties: { id: ${nodes[0]!.id} }
    edge-2:
      type: deployer.nodes.Node
      properties: { id: ${nodes[1]!.id} }
${application('web', web, ports.web, ['host: edge-1', 'host: edge-2', 'dependency: api'])}${application('api', api, ports.api, ['host: edge-1', 'host: edge-2'])}`;

async function recordOf(deploymentId: string): Promise<DeploymentRecord> {
  return waitFor(`the record of ${deploymentId}`, () => d.records.find((r) => r.deploymentId === deploymentId));
}

const cli = (args: string[]) => runCli(args, d.env);

describe('a TOSCA service template on deployer.requests (real engines)', () => {
  const ids = { api: `${templateId}.${api}`, web: `${templateId}.${web}` };

  it('deploys both applications, the dependency first, each with its configuration check and tests passed on every node', async () => {
    await d.send(stack(templateId), 'it-tosca');
    const apiEvents = await d.terminal(ids.api, 180_000);
    const webEvents = await d.terminal(ids.web, 180_000);
    expect([apiEvents.at(-1)!.phase, webEvents.at(-1)!.phase]).toEqual(['Succeeded', 'Succeeded']);

    // Started in dependency order, and the dependent touched no node before its dependency had succeeded.
    const [apiRun, webRun] = await Promise.all([d.client.workflow.getHandle(ids.api).describe(), d.client.workflow.getHandle(ids.web).describe()]);
    expect(apiRun.startTime.getTime()).toBeLessThanOrEqual(webRun.startTime.getTime());
    const webDeploying = webEvents.find((e) => e.phase === 'Deploying')!;
    expect(Date.parse(webDeploying.at)).toBeGreaterThanOrEqual(Date.parse(apiEvents.at(-1)!.at));

    for (const id of [ids.api, ids.web]) {
      const record = await recordOf(id);
      expect(record.status).toBe('Succeeded');
      for (const n of nodes) {
        expect(record.nodes[n.id]!.checks!.map((c) => [c.name, c.kind, c.passed])).toEqual([
          ['config', 'config', true],
          ['home', 'http', true],
          ['page', 'exec', true],
        ]);
      }
    }
    const messages = webEvents.filter((e) => e.node === nodes[0]!.id).map((e) => e.message);
    expect(messages).toContain('configuration check passed: `sh -c grep -q . /www/index.html` passed');
    for (const n of nodes) {
      for (const port of [ports.api, ports.web]) expect(await httpGet(`http://${n.address}:${port}/`)).toEqual({ status: 200, body: 'hello from the template' });
    }
  });

  it('starts nothing new when the same template is delivered again', async () => {
    const before = await Promise.all([ids.api, ids.web].map(async (id) => (await d.client.workflow.getHandle(id).describe()).runId));
    const committed = await d.committed();
    await d.send(stack(templateId), 'it-tosca');
    await waitFor('the redelivered template acted on', async () => (await d.committed()) > committed);
    const after = await Promise.all([ids.api, ids.web].map(async (id) => (await d.client.workflow.getHandle(id).describe()).runId));
    expect(after).toEqual(before);
    expect(d.deadLetters.filter((r) => r.original.includes(templateId))).toEqual([]);
  });

  it('dead-letters a template that breaks a rule of the request, with the line and column in its reason, and starts none of its applications', async () => {
    const id = `${templateId}-bad`;
    const text = stack(id).replace(`healthCheck: { http: { port: ${ports.api} }`, 'healthCheck: { http: { port: 70000 }');
    await d.send(text, 'it-tosca');
    const record = await waitFor('a dead letter', () => d.deadLetters.find((r) => r.original.includes(id)));
    // Line 56 is api's healthCheck: 16 lines before the node templates of the applications, 26 of web, 14 of api before it.
    expect(record.reason).toBe('topology_template.node_templates.api.properties.healthCheck.http.port (line 56, column 38): Too big: expected number to be <=65535');
    expect(record.issues).toEqual([{ path: ['topology_template', 'node_templates', 'api', 'properties', 'healthCheck', 'http', 'port'], message: 'Too big: expected number to be <=65535', line: 56, column: 38 }]);
    expect(record.original).toBe(text);
    for (const name of [api, web]) await expect(d.client.workflow.getHandle(`${id}.${name}`).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
    expect(d.events.filter((e) => e.deploymentId.startsWith(`${id}.`))).toEqual([]);
  });

  it('dead-letters a template whose node the inventory does not know, naming the host requirement of each application (the dependency first)', async () => {
    const id = `${templateId}-lost`;
    await d.send(stack(id).replace(`properties: { id: ${nodes[1]!.id} }`, 'properties: { id: fog-99 }'), 'it-tosca');
    const record = await waitFor('a dead letter', () => d.deadLetters.find((r) => r.original.includes(id)));
    expect(record.reason).toBe("topology_template.node_templates.api.requirements[1].host (line 67, column 17): unknown node 'fog-99' (and 1 more problem)");
    expect(record.issues.map((i) => [i.path.join('.'), i.line])).toEqual([
      ['topology_template.node_templates.api.requirements.1.host', 67],
      ['topology_template.node_templates.web.requirements.1.host', 41],
    ]);
    for (const name of [api, web]) await expect(d.client.workflow.getHandle(`${id}.${name}`).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
  });

  it('deploys a template file with the CLI, each application as a JSON request, an --input read as its type says', async () => {
    const file = join(dir, 'stack.yaml');
    writeFileSync(file, stack('unused'));
    const id = `${templateId}-cli`;
    const run = await cli(['deploy', file, '--id', id, '--input', 'version=2', '--input', 'greeting=hello from the CLI', '--wait', '--timeout', '180']);
    // The whole run on failure: the exit code alone does not say which deployment failed, or why.
    expect({ code: run.code, stderr: run.stderr, stdout: run.code === 0 ? '' : run.stdout }).toEqual({ code: 0, stderr: '', stdout: '' });
    expect(run.stdout).toContain(`sent Deploy ${id}.${api} to ${d.config.kafka.topics.requests}\nsent Deploy ${id}.${web} to ${d.config.kafka.topics.requests}\n`);
    for (const name of [api, web]) {
      const record = await recordOf(`${id}.${name}`);
      expect([record.status, record.version]).toEqual(['Succeeded', '2']);
    }
    expect(await httpGet(`http://${nodes[0]!.address}:${ports.web}/`)).toEqual({ status: 200, body: 'hello from the CLI' });
  });
});
