// Recorded histories of deployments made by earlier versions of the workflow code
// (test/fixtures/histories: success, rollback, cancel, the three pause decisions, a Retry
// run, a rollback that could not reach a node, node children and an application lock)
// are replayed against the current code. A change that would break deployments already
// running in production fails here; make such a change with `patched()` instead.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

jest.setTimeout(120_000);

const root = resolve(__dirname, '../..');
const dir = join(root, 'test/fixtures/histories');

describe('recorded workflow histories', () => {
  it('replay against the current workflow code without nondeterminism errors', () => {
    const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
    expect(files.length).toBeGreaterThanOrEqual(10);
    const run = spawnSync(process.execPath, [join(root, 'scripts/replay-histories.js'), dir], { cwd: root, encoding: 'utf8' });
    expect(run.status).toBe(0);
    const results = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as { file: string; ok: boolean; error?: string });
    expect(results.map((r) => r.file).sort()).toEqual(files);
    expect(results.filter((r) => !r.ok)).toEqual([]);
  });
});
