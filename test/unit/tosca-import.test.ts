// The TOSCA importer by equality: a service template of the Deployer's profile becomes the
// Deploy requests it says, dependencies first, and every problem is named by its place in the
// template with its line and column there.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { deployRequestSchema, requestSchema } from '../../src/core/schemas/request';
import { importServiceTemplate, isServiceTemplate } from '../../src/core/tosca/import';
import { APPLICATION_PROPERTIES } from '../../src/core/tosca/profile';

const sensors = `tosca_definitions_version: tosca_simple_yaml_1_3
description: A sensor that publishes to a broker, both on two fog nodes.
metadata:
  template_name: sensors
  deploymentId: sensors-7
topology_template:
  inputs:
    version:
      type: string
      default: "1.4.0"
    port:
      type: integer
      default: 1883
    interval:
      type: string
  node_templates:
    sensor:
      type: deployer.nodes.Application
      properties:
        application:
          name: temp-sensor
          version: { get_input: version }
          image: 10.0.0.1:5000/temp-sensor:1.4.0
        container:
          env:
            INTERVAL: { get_input: interval }
          files:
            - path: /etc/temp-sensor.conf
              content: "interval = 5\\n"
          configCheck:
            command: [temp-sensor, --check-config, /etc/temp-sensor.conf]
            timeoutMs: 5000
        healthCheck:
          tcp: { port: 9100 }
        verify:
          tests:
            - name: metrics
              http: { port: 9100, path: /metrics, expect: { body: temperature } }
            - name: config
              exec: { command: [cat, /etc/temp-sensor.conf], expect: { output: { matches: "^interval" } } }
              timeoutMs: 2000
      requirements:
        - host: edge-a
        - dependency: broker
        - host: { node: edge-b }
    edge-a:
      type: deployer.nodes.Node
      properties:
        id: fog-1
    edge-b:
      type: deployer.nodes.Node
      properties: { id: fog-2 }
    broker:
      type: deployer.nodes.Application
      description: The MQTT broker the sensor publishes to.
      properties:
        application:
          version: "2.0"
          image: 10.0.0.1:5000/mosquitto:2.0
        healthCheck:
          tcp: { port: { get_input: port } }
        strategy: { maxParallel: 2 }
      requirements:
        - host: edge-a
        - host: edge-b
`;

describe('importing a service template', () => {
  it('makes one Deploy request per application, dependencies first, with hosts, dependencies, inputs, the configuration check and the tests', () => {
    const imported = importServiceTemplate(sensors, { inputs: { interval: '5' } });
    expect(imported).toEqual({
      ok: true,
      requests: [
        deployRequestSchema.parse({
          kind: 'Deploy',
          deploymentId: 'sensors-7.broker',
          application: { name: 'broker', version: '2.0', image: '10.0.0.1:5000/mosquitto:2.0' },
          nodes: ['fog-1', 'fog-2'],
          healthCheck: { tcp: { port: 1883 } },
          strategy: { maxParallel: 2 },
          dependsOn: [],
        }),
        deployRequestSchema.parse({
          kind: 'Deploy',
          deploymentId: 'sensors-7.temp-sensor',
          application: { name: 'temp-sensor', version: '1.4.0', image: '10.0.0.1:5000/temp-sensor:1.4.0' },
          nodes: ['fog-1', 'fog-2'],
          container: {
            env: { INTERVAL: '5' },
            files: [{ path: '/etc/temp-sensor.conf', content: 'interval = 5\n' }],
            configCheck: { command: ['temp-sensor', '--check-config', '/etc/temp-sensor.conf'], timeoutMs: 5000 },
          },
          healthCheck: { tcp: { port: 9100 } },
          verify: {
            tests: [
              { name: 'metrics', http: { port: 9100, path: '/metrics', expect: { body: 'temperature' } } },
              { name: 'config', exec: { command: ['cat', '/etc/temp-sensor.conf'], expect: { output: { matches: '^interval' } } }, timeoutMs: 2000 },
            ],
          },
          dependsOn: ['broker'],
        }),
      ],
    });
  });

  it('carries the configuration check and the deployment tests into the request as the workflow reads them', () => {
    const imported = importServiceTemplate(sensors, { inputs: { interval: '5' } });
    if (!imported.ok) throw new Error(imported.reason);
    const sensor = imported.requests[1]!;
    expect(sensor.container.configCheck).toEqual({ command: ['temp-sensor', '--check-config', '/etc/temp-sensor.conf'], timeoutMs: 5000 });
    expect(sensor.verify!.tests).toEqual([
      { name: 'metrics', timeoutMs: 30_000, secrets: [], http: { port: 9100, method: 'GET', path: '/metrics', headers: {}, expect: { status: 200, body: 'temperature', headers: {} } } },
      { name: 'config', timeoutMs: 2000, secrets: [], exec: { command: ['cat', '/etc/temp-sensor.conf'], expect: { exitCode: 0, output: { matches: '^interval' } } } },
    ]);
  });

  it('reads a value given as text as its input type says, and uses it in place of the default', () => {
    const imported = importServiceTemplate(sensors, { inputs: { interval: '5', port: '8883', version: '1.5.0' } });
    if (!imported.ok) throw new Error(imported.reason);
    expect(imported.requests.map((r) => [r.deploymentId, r.application.version, r.healthCheck])).toEqual([
      ['sensors-7.broker', '2.0', expect.objectContaining({ tcp: { port: 8883 } })],
      ['sensors-7.temp-sensor', '1.5.0', expect.objectContaining({ tcp: { port: 9100 } })],
    ]);
  });

  it('keeps the template order where nothing depends on anything, and takes the deploymentId from the caller when it gives one', () => {
    const text = sensors.replace('        - dependency: broker\n', '');
    const imported = importServiceTemplate(text, { inputs: { interval: '5' }, deploymentId: 'sensors-8' });
    expect(imported.ok && imported.requests.map((r) => [r.deploymentId, r.dependsOn])).toEqual([
      ['sensors-8.temp-sensor', []],
      ['sensors-8.broker', []],
    ]);
  });

  it('reads the same template written as JSON', () => {
    const json = JSON.stringify({
      tosca_definitions_version: 'tosca_2_0',
      metadata: { deploymentId: 'j-1' },
      topology_template: {
        node_templates: {
          'fog-1': { type: 'deployer.nodes.Node' },
          web: { type: 'deployer.nodes.Application', properties: { application: { version: '1', image: 'reg:5000/web:1' } }, requirements: [{ host: 'fog-1' }] },
        },
      },
    });
    expect(importServiceTemplate(json)).toEqual({
      ok: true,
      requests: [deployRequestSchema.parse({ kind: 'Deploy', deploymentId: 'j-1.web', application: { name: 'web', version: '1', image: 'reg:5000/web:1' }, nodes: ['fog-1'] })],
    });
  });

  it('imports the sample template as the request of examples/hello/deploy.json, on fog-1 and fog-2', () => {
    const dir = resolve(__dirname, '../../examples/tosca');
    const imported = importServiceTemplate(readFileSync(resolve(dir, 'hello.yaml'), 'utf8'), { resolveContext: (context) => resolve(dir, context) });
    const sample = JSON.parse(readFileSync(resolve(__dirname, '../../examples/hello/deploy.json'), 'utf8'));
    expect(imported).toEqual({
      ok: true,
      requests: [
        requestSchema.parse({
          ...sample,
          deploymentId: 'hello-tosca-0001.hello',
          application: { ...sample.application, source: { ...sample.application.source, context: resolve(__dirname, '../../examples/hello') } },
          nodes: ['fog-1', 'fog-2'],
          strategy: { ...sample.strategy, maxParallel: 2 },
        }),
      ],
    });
  });

  it('names exactly the request fields a template does not say by its structure as an application\'s properties', () => {
    const structural = ['kind', 'deploymentId', 'nodes', 'dependsOn'];
    expect([...APPLICATION_PROPERTIES].sort()).toEqual(Object.keys(deployRequestSchema.shape).filter((k) => !structural.includes(k)).sort());
  });
});

/**
 * A template of one application, `web`, on fog-1, whose lines from line 10 on are `app`
 * (indented as a node template's keys are):
 *  1 tosca_definitions_version … 5 node_templates, 6-7 fog-1, 8 web:, 9 its type.
 */
const withApp = (app: string, head = '') => `tosca_definitions_version: tosca_simple_yaml_1_3
metadata:
  deploymentId: t-1
topology_template:${head}
  node_templates:
    fog-1:
      type: deployer.nodes.Node
    web:
      type: deployer.nodes.Application
${app}`;

const valid = `      properties:
        application:
          version: "1"
          image: reg:5000/web:1
      requirements:
        - host: fog-1
`;

const reasonOf = (text: string, opts?: Parameters<typeof importServiceTemplate>[1]) => {
  const imported = importServiceTemplate(text, opts);
  return imported.ok ? 'imported' : imported.reason;
};

describe('a service template the importer refuses', () => {
  it('is the base template, which is valid', () => {
    expect(reasonOf(withApp(valid))).toBe('imported');
  });

  it('is not valid YAML: the parser\'s message at its line and column', () => {
    const imported = importServiceTemplate(withApp(valid).replace('    fog-1:\n', '    web:\n'));
    expect(imported).toEqual({ ok: false, reason: 'line 8, column 5: the template is not valid YAML: Map keys must be unique', issues: [{ path: [], message: 'the template is not valid YAML: Map keys must be unique', line: 8, column: 5 }] });
  });

  it('imports something: the profile is built in', () => {
    expect(reasonOf(`imports:\n  - deployer-profile.yaml\n${withApp(valid)}`)).toBe(
      'imports (line 1, column 1): imports are not supported: the Deployer\'s profile (deployer.nodes.Application and deployer.nodes.Node) is built in',
    );
  });

  it('has a top-level key the profile does not know, or another definitions version', () => {
    expect(reasonOf(`${withApp(valid)}node_types: {}\n`)).toBe(
      'node_types (line 16, column 1): unknown key "node_types": a service template of the Deployer\'s profile has tosca_definitions_version, description, metadata and topology_template',
    );
    expect(reasonOf(withApp(valid).replace('tosca_simple_yaml_1_3', 'tosca_simple_yaml_1_0'))).toBe('tosca_definitions_version (line 1, column 28): must be tosca_simple_yaml_1_3 or tosca_2_0');
  });

  it('has no deploymentId in its metadata', () => {
    expect(reasonOf(withApp(valid).replace('  deploymentId: t-1', '  template_name: web'))).toBe(
      "metadata.deploymentId (line 3, column 3): is required: the id of the template's deployments (each application's is <it>.<application name>)",
    );
  });

  it('uses a node type the profile does not have, and says which it has', () => {
    expect(reasonOf(withApp(valid).replace('      type: deployer.nodes.Node', '      type: tosca.nodes.Compute'))).toBe(
      'topology_template.node_templates.fog-1.type (line 7, column 13): unknown node type "tosca.nodes.Compute": the profile\'s node types are deployer.nodes.Application and deployer.nodes.Node',
    );
  });

  it('has a requirement the profile does not have', () => {
    expect(reasonOf(withApp(`${valid}        - storage: fog-1\n`))).toBe(
      'topology_template.node_templates.web.requirements[1].storage (line 16, column 11): unknown requirement "storage": an application\'s requirements are host and dependency',
    );
  });

  it('names a node template that is not there, or one of the wrong type', () => {
    expect(reasonOf(withApp(valid.replace('host: fog-1', 'host: fog-9')))).toBe('topology_template.node_templates.web.requirements[0].host (line 15, column 17): there is no node template "fog-9"');
    expect(reasonOf(withApp(valid.replace('host: fog-1', 'host: { node: web }')))).toBe(
      'topology_template.node_templates.web.requirements[0].host.node (line 15, column 25): must name a deployer.nodes.Node template; "web" is a deployer.nodes.Application',
    );
    expect(reasonOf(withApp(`${valid}        - dependency: fog-1\n`))).toBe(
      'topology_template.node_templates.web.requirements[1].dependency (line 16, column 23): must name a deployer.nodes.Application template; "fog-1" is a deployer.nodes.Node',
    );
  });

  it('has applications that depend on each other in a cycle', () => {
    const db = `    db:
      type: deployer.nodes.Application
      properties:
        application: { version: "1", image: "reg:5000/db:1" }
      requirements:
        - host: fog-1
        - dependency: web
`;
    expect(reasonOf(withApp(`${valid}        - dependency: db\n${db}`))).toBe('topology_template.node_templates.db.requirements[1].dependency (line 23, column 23): dependency cycle: web → db → web');
  });

  it('has an application with no host', () => {
    expect(reasonOf(withApp(valid.replace('      requirements:\n        - host: fog-1\n', '')))).toBe(
      'topology_template.node_templates.web (line 8, column 5): an application needs at least one host requirement, such as - host: fog-1',
    );
  });

  it('has an application whose template name is not an application name, unless properties.application.name names it', () => {
    const upper = withApp(valid).replace('    web:', '    Web_Server:');
    expect(reasonOf(upper)).toBe(
      'topology_template.node_templates.Web_Server (line 8, column 5): node template name "Web_Server" is not a valid application name (it must be 1-63 lowercase letters, digits or "-", starting with a letter or digit): rename the template or set properties.application.name',
    );
    const named = importServiceTemplate(upper.replace('          version: "1"', '          name: web-server\n          version: "1"'));
    expect(named.ok && named.requests.map((r) => [r.deploymentId, r.application.name])).toEqual([['t-1.web-server', 'web-server']]);
  });

  it('gives two node templates the same node id', () => {
    expect(reasonOf(withApp(valid.replace('host: fog-1', 'host: other')).replace('    web:', '    other:\n      type: deployer.nodes.Node\n      properties: { id: fog-1 }\n    web:'))).toBe(
      'topology_template.node_templates.other.properties.id (line 10, column 25): node id "fog-1" is also the id of node template "fog-1"',
    );
  });

  it('gives an application a property the profile does not have, with a hint for the fields its structure says', () => {
    expect(reasonOf(withApp(valid.replace('      properties:\n', '      properties:\n        nodes: [fog-1]\n')))).toBe(
      'topology_template.node_templates.web.properties.nodes (line 11, column 9): unknown property "nodes": an application\'s properties are application, container, healthCheck, verify, strategy and replicasPerNode (its nodes are host requirements)',
    );
  });

  it('asks for an input it does not declare, declares one with no value, or calls another function', () => {
    expect(reasonOf(withApp(valid.replace('version: "1"', 'version: { get_input: version }')))).toBe(
      'topology_template.node_templates.web.properties.application.version.get_input (line 12, column 33): names input "version", which topology_template.inputs does not declare',
    );
    const declared = withApp(valid.replace('version: "1"', 'version: { get_input: version }'), '\n  inputs:\n    version:\n      type: string');
    expect(reasonOf(declared)).toBe('topology_template.inputs.version (line 6, column 5): input "version" has no default, and no value was given for it');
    expect(reasonOf(declared, { inputs: { version: '2' } })).toBe('imported');
    expect(reasonOf(declared, { inputs: { version: '2', port: '1' } })).toBe(
      'topology_template.inputs (line 5, column 3): a value is given for input "port", which the template does not declare (it declares version)',
    );
    expect(reasonOf(withApp(valid.replace('version: "1"', 'version: { concat: ["1", ".0"] }')))).toBe(
      'topology_template.node_templates.web.properties.application.version.concat (line 12, column 22): function concat is not supported: the profile supports get_input only',
    );
  });

  it('is given a value its input type cannot read', () => {
    const typed = withApp(valid.replace('      properties:\n', '      properties:\n        replicasPerNode: { get_input: replicas }\n'), '\n  inputs:\n    replicas:\n      type: integer\n      default: 1');
    expect(reasonOf(typed, { inputs: { replicas: 'two' } })).toBe('topology_template.inputs.replicas (line 6, column 5): the value given for input "replicas" must be an integer, not "two"');
    expect(reasonOf(typed.replace('default: 1', 'default: one'))).toBe('topology_template.inputs.replicas.default (line 8, column 16): must be an integer, not "one"');
    const imported = importServiceTemplate(typed, { inputs: { replicas: '3' } });
    expect(imported.ok && imported.requests[0]!.replicasPerNode).toBe(3);
  });

  it('breaks a rule of the request schema: the issue at its place in the template, with the schema\'s own words', () => {
    const ports = valid.replace('      requirements:', '        container:\n          ports:\n            - { container: 8080, host: 80 }\n      requirements:');
    expect(reasonOf(withApp(ports))).toBe(
      'topology_template.node_templates.web.properties.container.ports[0].host (line 16, column 40): with network "host" the container\'s port 8080 is the node\'s port 8080; omit "host" or use network "bridge" to publish it as 80',
    );
    const env = valid.replace('      requirements:', '        container:\n          env: { A-B: x }\n      requirements:');
    expect(reasonOf(withApp(env))).toBe('topology_template.node_templates.web.properties.container.env.A-B (line 15, column 18): key "A-B" must be a POSIX environment variable name');
  });

  it('leaves out a required field: the nearest place the template has, and a hint for a version YAML read as a number', () => {
    expect(reasonOf(withApp(valid.replace('          version: "1"\n', '')))).toBe(
      'topology_template.node_templates.web.properties.application.version (line 12, column 11): Invalid input: expected string, received undefined',
    );
    expect(reasonOf(withApp(valid.replace('version: "1"', 'version: 1.0')))).toBe(
      'topology_template.node_templates.web.properties.application.version (line 12, column 20): Invalid input: expected string, received number (YAML reads 1.0 as a number: quote it, "1.0", to make it a string)',
    );
  });

  it('has a field the contract does not know: the first unknown key itself', () => {
    expect(reasonOf(withApp(valid.replace('      requirements:', '        container:\n          capAdd: [SYS_ADMIN]\n      requirements:')))).toBe(
      'topology_template.node_templates.web.properties.container (line 15, column 11): unknown field "capAdd": not part of the contract',
    );
  });

  it('names a deploymentId that, with an application\'s name, is too long', () => {
    expect(reasonOf(withApp(valid).replace('deploymentId: t-1', `deploymentId: ${'d'.repeat(126)}`))).toBe(
      `metadata.deploymentId (line 3, column 17): the deploymentId of application "web", "${'d'.repeat(126)}.web", must be 1-128 characters of letters, digits, ".", "_", ":" or "-"`,
    );
  });

  it('counts every problem, naming the first', () => {
    const imported = importServiceTemplate(withApp(valid.replace('host: fog-1', 'host: fog-9')).replace('deploymentId: t-1', 'deploymentId: "t 1"'));
    expect(imported.ok).toBe(false);
    if (!imported.ok) {
      expect(imported.reason).toBe('metadata.deploymentId (line 3, column 17): must be 1-128 characters of letters, digits, ".", "_", ":" or "-" (and 1 more problem)');
      expect(imported.issues.map((i) => [i.line, i.column])).toEqual([
        [3, 17],
        [15, 17],
      ]);
    }
  });
});

describe('telling a service template from a request', () => {
  it('looks for a top-level tosca_definitions_version in YAML or JSON', () => {
    expect(isServiceTemplate(withApp(valid))).toBe(true);
    expect(isServiceTemplate(`# a comment\n---\n${withApp(valid)}`)).toBe(true);
    expect(isServiceTemplate('{"tosca_definitions_version": "tosca_2_0", "metadata": {}}')).toBe(true);
    expect(isServiceTemplate('{tosca_definitions_version: tosca_2_0}')).toBe(true);
    expect(isServiceTemplate('{"kind": "Deploy", "deploymentId": "d-1"}')).toBe(false);
    expect(isServiceTemplate('{"kind": "Deploy", "container": {"files": [{"path": "/t.yaml", "content": "tosca_definitions_version: x\\n"}]}}')).toBe(false);
    expect(isServiceTemplate('kind: Deploy\nnested:\n  tosca_definitions_version: x\n')).toBe(false);
    expect(isServiceTemplate('{\n\n  tosca_definitions_version: tosca_2_0 }')).toBe(true);
    expect(isServiceTemplate('kind: Deploy\n  {\n tosca_definitions_version: x}')).toBe(true);
  });

  it('answers in time linear in the text: a 1 MiB message of newlines, or of lines that open a flow map, decided at once', () => {
    // The multi-line pattern this replaced took 75, 259 and 801 ms for 10k, 20k and 40k newlines: minutes for these.
    expect(isServiceTemplate('\n'.repeat(1024 * 1024))).toBe(false);
    expect(isServiceTemplate(' {\n'.repeat(300 * 1024))).toBe(false);
    expect(isServiceTemplate(`${'\n'.repeat(1024 * 1024)}tosca_definitions_version: tosca_2_0`)).toBe(true);
  }, 5_000);
});
