import { deployRequestSchema, rollbackRequestSchema, undeployRequestSchema } from '../../src/core/schemas/request';
import { cell, startDetails, startMemo } from '../../src/core/details';
import { indexedNodes } from '../../src/core/search-attributes';
import { MAX_ROWS, nodeDetails, progressDetails } from '../../workflows/details';
import type { NodeState } from '../../src/core/node-states';
import { contractExample, minimal } from '../fixtures/requests';

describe('what the Temporal UI shows about a deployment', () => {
  it('gives a Deploy built from source static details naming application, version, nodes, strategy and source', () => {
    expect(startDetails(deployRequestSchema.parse(contractExample))).toBe(
      [
        '**Deploy** `d-20261123-0001`',
        '',
        '|  |  |',
        '| --- | --- |',
        '| application | temp-sensor |',
        '| version | 1.4.0 |',
        '| nodes | fog-1, fog-2, fog-3 |',
        '| replicas per node | 1 |',
        '| strategy | 2 node(s) at a time; on failure rollback |',
        '| source | `/srv/apps/temp-sensor`, `Dockerfile` |',
        '| depends on | mqtt-broker |',
      ].join('\n'),
    );
  });

  it('shows a git source without credentials, of a workflow started without the bridge', () => {
    const request = deployRequestSchema.parse({ ...minimal, application: { name: 'web', version: '1', source: { context: 'https://git.example.org/team/app.git' } } });
    request.application.source!.context = 'https://ci:hunter2@git.example.org/team/app.git';
    expect(startDetails(request)).toContain('| source | `https://git.example.org/team/app.git`, `Dockerfile` |');
  });

  it('gives a Deploy of a prebuilt image static details naming the image', () => {
    expect(startDetails(deployRequestSchema.parse(minimal))).toContain('| image | `10.0.0.1:5000/web:1` |');
  });

  it('gives Rollback and Undeploy static details saying what they default to', () => {
    expect(startDetails(rollbackRequestSchema.parse({ kind: 'Rollback', deploymentId: 'r-1', application: 'web' }))).toContain('| to version | the version before the current one |');
    expect(startDetails(undeployRequestSchema.parse({ kind: 'Undeploy', deploymentId: 'u-1', application: 'web' }))).toContain('| nodes | every node it runs on |');
  });

  it('puts the kind and the application in the memo', () => {
    expect(startMemo(deployRequestSchema.parse(minimal))).toEqual({ kind: 'Deploy', application: 'web' });
    expect(startMemo(rollbackRequestSchema.parse({ kind: 'Rollback', deploymentId: 'r-1', application: 'web' }))).toEqual({ kind: 'Rollback', application: 'web' });
  });

  it('shows one row per node with its state and last step as current details', () => {
    const details = progressDetails({ 'fog-1': { state: 'Healthy', message: 'running web--d-min--r0' }, 'fog-2': { state: 'Deploying', message: 'pulling 10.0.0.1:5000/web:1' } });
    expect(details).toBe(
      ['| node | state | last step |', '| --- | --- | --- |', '| fog-1 | Healthy | running web--d-min--r0 |', '| fog-2 | Deploying | pulling 10.0.0.1:5000/web:1 |'].join('\n'),
    );
  });

  it('lists the steps of a node and how each went', () => {
    expect(
      nodeDetails('fog-2', [
        { step: 'pull 10.0.0.1:5000/web:1', state: 'done' },
        { step: 'start web--d-min--r0', state: 'running' },
      ]),
    ).toBe(['**fog-2**', '', '| step | state |', '| --- | --- |', '| pull 10.0.0.1:5000/web:1 | done |', '| start web--d-min--r0 | running |'].join('\n'));
  });

  it('keeps a failure message with pipes and line breaks inside its table cell', () => {
    expect(cell('exit 1 | grep\nfailed\r\n  twice')).toBe('exit 1 \\| grep failed twice');
  });

  it('shows a wide deployment as counts per state, and the nodes that are neither pending nor healthy', () => {
    const nodes: Record<string, { state: NodeState; message: string }> = Object.fromEntries(Array.from({ length: MAX_ROWS + 10 }, (_, i) => [`n-${i}`, { state: i < 40 ? ('Healthy' as const) : ('Pending' as const), message: 'x' }]));
    nodes['n-7'] = { state: 'Failed', message: 'GET / answered 500' };
    expect(progressDetails(nodes)).toBe(
      ['| state | nodes |', '| --- | --- |', '| Healthy | 39 |', '| Failed | 1 |', '| Pending | 20 |', '', '| node | state | last step |', '| --- | --- | --- |', '| n-7 | Failed | GET / answered 500 |'].join('\n'),
    );
  });
});

describe('a wide deployment in the UI and in visibility', () => {
  const nodes = Array.from({ length: 1000 }, (_, i) => `fog-${i}`);

  it('indexes as many of its nodes as Temporal allows in a search attribute (2 KB), in order', () => {
    const indexed = indexedNodes(nodes);
    expect(JSON.stringify(indexed).length).toBeLessThanOrEqual(2048);
    expect(JSON.stringify(nodes.slice(0, indexed.length + 1)).length).toBeGreaterThan(2048);
    expect(indexed).toEqual(nodes.slice(0, indexed.length));
    expect(indexedNodes(['fog-1', 'fog-2'])).toEqual(['fog-1', 'fog-2']);
  });

  it('names its first nodes and counts the rest in its static details', () => {
    const details = startDetails(deployRequestSchema.parse({ ...minimal, nodes }));
    expect(details).toContain(`| nodes | ${nodes.slice(0, 50).join(', ')} and 950 more |`);
  });
});
