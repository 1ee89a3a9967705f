// The lint rules that keep the layers apart really fire: workflow code and the pure core stay
// deterministic, apps never import activity implementations, nothing outside test/ imports
// test/. ESLint runs as its own process: its config is an ES module, which jest's VM cannot load.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

// Each case starts ESLint with type information (seconds of CPU), beside the other suites of the run.
jest.setTimeout(180_000);

const root = resolve(__dirname, '../..');
const RULES = ['@typescript-eslint/no-restricted-imports', 'import-x/no-restricted-paths'];

/** The lint messages about imports for `file` with `prepend` added at its top, as "rule: specifier". */
function restrictedImports(file: string, prepend: string): string[] {
  const path = resolve(root, file);
  const out = spawnSync(resolve(root, 'node_modules/.bin/eslint'), ['--stdin', '--stdin-filename', path, '--format', 'json'], {
    cwd: root,
    input: `${prepend}\n${readFileSync(path, 'utf8')}`,
    encoding: 'utf8',
  });
  const [result] = JSON.parse(out.stdout) as { messages: { ruleId: string; message: string }[] }[];
  return result!.messages.filter((m) => RULES.includes(m.ruleId)).map((m) => `${m.ruleId.split('/')[0]}: ${/["']([^"']+)["']/.exec(m.message)?.[1]}`);
}

describe('layer lint rules', () => {
  it('reject Node built-ins, I/O clients, activity implementations and apps in workflow code, but not activity types', () => {
    const messages = restrictedImports(
      'workflows/operation.ts',
      [
        "import { readFileSync } from 'node:fs';",
        "import Docker from 'dockerode';",
        "import { Engines } from '../activities/targets/docker-engine/engines';",
        "import { loadConfig } from '../src/config';",
        "import type { Activities } from '../activities';",
      ].join('\n'),
    );
    expect(messages).toEqual(
      expect.arrayContaining(['@typescript-eslint: node:fs', '@typescript-eslint: dockerode', '@typescript-eslint: ../activities/targets/docker-engine/engines', 'import-x: ../src/config']),
    );
    expect(messages.some((m) => m.endsWith(': ../activities'))).toBe(false);
  });

  it('keep local activities in the run\'s one lane: workflow code calls them through workflows/local-lane.ts, the first shape (v1) excepted', () => {
    const direct = "import { proxyLocalActivities as direct } from '@temporalio/workflow';";
    expect(restrictedImports('workflows/event-log.ts', direct)).toEqual(['@typescript-eslint: proxyLocalActivities']);
    expect(restrictedImports('workflows/local-lane.ts', '')).toEqual([]);
    expect(restrictedImports('workflows/v1/event-log.ts', direct)).toEqual([]);
  });

  it('keep the core pure: no Node built-in, and nothing outside src/core, even by a relative path', () => {
    expect(restrictedImports('src/core/intent.ts', ["import { createHash } from 'crypto';", "import { loadInventory } from '../inventory';"].join('\n'))).toEqual([
      '@typescript-eslint: crypto',
      'import-x: ../inventory',
    ]);
  });

  it('let the TOSCA importer read YAML, but nothing else of the core, and keep the importer out of workflow code', () => {
    expect(restrictedImports('src/core/tosca/import.ts', "import { readFileSync } from 'node:fs';")).toEqual(['@typescript-eslint: node:fs']);
    expect(restrictedImports('src/core/intent.ts', "import { parse } from 'yaml';")).toEqual(['@typescript-eslint: yaml']);
    expect(restrictedImports('workflows/operation.ts', "import { importServiceTemplate } from '../src/core/tosca/import';")).toEqual(['import-x: ../src/core/tosca/import']);
  });

  it('keep the failure converter that the workflow bundle carries deterministic: no Node built-in, nothing of the Deployer', () => {
    expect(restrictedImports('src/codec/failure-converter.ts', ["import { readFileSync } from 'node:fs';", "import { loadConfig } from '../config';"].join('\n'))).toEqual([
      '@typescript-eslint: node:fs',
      'import-x: ../config',
    ]);
    expect(restrictedImports('src/codec/failure-converter.ts', '')).toEqual([]);
  });

  it('keep activity implementations out of the apps, and let the worker wire them only through their factory', () => {
    expect(restrictedImports('src/bridge/bridge.ts', "import { Engines } from '../../activities/targets/docker-engine/engines';")).toContain('@typescript-eslint: ../../activities/targets/docker-engine/engines');
    expect(restrictedImports('src/worker/worker.ts', "import { Engines } from '../../activities/targets/docker-engine/engines';")).toContain('@typescript-eslint: ../../activities/targets/docker-engine/engines');
    expect(restrictedImports('src/worker/worker.ts', '')).toEqual([]);
  });

  it('keep test code out of everything but the tests', () => {
    expect(restrictedImports('activities/index.ts', "import { startDeployer } from '../test/support/deployer';")).toContain('import-x: ../test/support/deployer');
  });
});
