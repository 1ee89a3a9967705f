import { deploymentRecord } from '../../src/core/deployment-record';
import { deploymentRecordSchema, type DeploymentRecord } from '../../src/core/schemas/record';

const record: DeploymentRecord = {
  deploymentId: 'd-20261123-0001',
  kind: 'Deploy',
  application: 'temp-sensor',
  version: '1.4.0',
  status: 'RolledBack',
  reason: 'fog-2: GET / answered 500',
  image: '10.77.0.1:5000/temp-sensor@sha256:0123abcd',
  nodes: { 'fog-1': { state: 'RolledBack', reason: 'removed temp-sensor--d--1; restarted nothing' }, 'fog-2': { state: 'RolledBack' } },
  startedAt: '2026-11-23T17:40:00.000Z',
  endedAt: '2026-11-23T17:40:09.500Z',
  runId: '0199a0b4-7c5e-7d6c-9a51-2f3b1c0d9e8f',
};

describe('deployment record schema', () => {
  it('accepts a record as the workflow writes it', () => {
    expect(deploymentRecordSchema.parse(record)).toEqual(record);
  });

  it('accepts a record without the optional version, reason and image', () => {
    const bare: Partial<DeploymentRecord> = { ...record, kind: 'Undeploy', status: 'Succeeded' };
    delete bare.version;
    delete bare.reason;
    delete bare.image;
    expect(deploymentRecordSchema.safeParse(bare).success).toBe(true);
  });

  it('rejects a status that is not an outcome, a node state the workflows do not have, and fields it does not describe', () => {
    expect(deploymentRecordSchema.safeParse({ ...record, status: 'Deploying' }).success).toBe(false);
    expect(deploymentRecordSchema.safeParse({ ...record, nodes: { 'fog-1': { state: 'Exploded' } } }).success).toBe(false);
    expect(deploymentRecordSchema.safeParse({ ...record, secret: 'x' }).success).toBe(false);
  });

  it('carries each node\'s checks and tests, their details clipped like reasons and times whole', () => {
    const long = 'x'.repeat(5000);
    const checked = deploymentRecord({ ...record, nodes: { 'fog-1': { state: 'RolledBack', checks: [{ name: 'home', kind: 'http', passed: false, detail: long, elapsedMs: 12.6 }] } } });
    expect(deploymentRecordSchema.parse(checked).nodes['fog-1']!.checks).toEqual([{ name: 'home', kind: 'http', passed: false, detail: `${'x'.repeat(4093)}...`, elapsedMs: 13 }]);
    expect(deploymentRecordSchema.safeParse({ ...record, nodes: { 'fog-1': { state: 'Healthy', checks: [{ name: 'home', kind: 'smoke', passed: true, detail: '', elapsedMs: 1 }] } } }).success).toBe(false);
  });

  it('rejects a deploymentId, application or timestamp the contract would not accept', () => {
    expect(deploymentRecordSchema.safeParse({ ...record, deploymentId: 'has space' }).success).toBe(false);
    expect(deploymentRecordSchema.safeParse({ ...record, application: 'Temp_Sensor' }).success).toBe(false);
    expect(deploymentRecordSchema.safeParse({ ...record, endedAt: 'yesterday' }).success).toBe(false);
  });

  it('builds records whose long reasons are clipped, so that the schema always accepts what the workflow writes', () => {
    const long = 'x'.repeat(10_000);
    const built = deploymentRecord({ ...record, reason: long, nodes: { 'fog-1': { state: 'Failed', reason: long } } });
    expect(built.reason).toHaveLength(4096);
    expect(built.reason!.endsWith('...')).toBe(true);
    expect(built.nodes['fog-1']!.reason).toHaveLength(4096);
    expect(deploymentRecordSchema.safeParse(built).success).toBe(true);
  });

  it('builds a record unchanged when nothing needs clipping', () => {
    expect(deploymentRecord(record)).toEqual(record);
  });
});
