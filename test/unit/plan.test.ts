import { deployRequestSchema } from '../../src/core/schemas/request';
import { batchesOf, nodeImage, pushTag, type PlannedNode } from '../../src/core/plan';
import { contractExample, minimal } from '../fixtures/requests';

const node: PlannedNode = { id: 'fog-1', address: '10.77.0.11', taskQueue: 'deployer', registry: '10.77.0.1:5000' };

describe('plan', () => {
  it('cuts nodes into batches of maxParallel, in request order', () => {
    expect(batchesOf(['a', 'b', 'c', 'd', 'e'], 2)).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
    expect(batchesOf(['a', 'b', 'c'], 1)).toEqual([['a'], ['b'], ['c']]);
    expect(batchesOf(['a', 'b', 'c'], 5)).toEqual([['a', 'b', 'c']]);
    expect(batchesOf([], 3)).toEqual([]);
  });

  it('refuses a batch size that is not a positive integer', () => {
    expect(() => batchesOf(['a'], 0)).toThrow(RangeError);
    expect(() => batchesOf(['a'], 1.5)).toThrow(RangeError);
  });

  it('tags the pushed image <registry>/<app>:<version>', () => {
    expect(pushTag('127.0.0.1:5000', 'temp-sensor', '1.4.0')).toBe('127.0.0.1:5000/temp-sensor:1.4.0');
  });

  it('has nodes pull a built image by digest from the registry address they see', () => {
    const request = deployRequestSchema.parse(contractExample);
    expect(nodeImage(request, node, 'sha256:abc')).toBe('10.77.0.1:5000/temp-sensor@sha256:abc');
    expect(() => nodeImage(request, node, undefined)).toThrow('no digest');
  });

  it('has nodes pull a prebuilt image as named', () => {
    expect(nodeImage(deployRequestSchema.parse(minimal), node, undefined)).toBe('10.0.0.1:5000/web:1');
  });
});
