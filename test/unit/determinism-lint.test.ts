// The lint rule that keeps workflow code deterministic really rejects Node-only imports.
// ESLint runs as its own process: its config is an ES module, which jest's VM cannot load.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

jest.setTimeout(60_000);

const root = resolve(__dirname, '../..');

async function restrictedImports(file: string, prepend: string): Promise<string[]> {
  const path = resolve(root, file);
  const out = spawnSync(resolve(root, 'node_modules/.bin/eslint'), ['--stdin', '--stdin-filename', path, '--format', 'json'], {
    cwd: root,
    input: `${prepend}\n${readFileSync(path, 'utf8')}`,
    encoding: 'utf8',
  });
  const [result] = JSON.parse(out.stdout) as { messages: { ruleId: string; message: string }[] }[];
  return result!.messages.filter((m) => m.ruleId === '@typescript-eslint/no-restricted-imports').map((m) => m.message);
}

describe('determinism lint rule', () => {
  it('rejects Node built-ins, I/O clients and activity implementations in workflow code, but not type imports', async () => {
    const messages = await restrictedImports(
      'workflows/deploy.ts',
      [
        "import { readFileSync } from 'node:fs';",
        "import Docker from 'dockerode';",
        "import { Engines } from '../activities/engines';",
        "import { loadConfig } from '../src/config';",
        "import type { Activities } from '../activities';",
      ].join('\n'),
    );
    expect(messages.map((m) => m.split(' import')[0])).toEqual(["'node:fs'", "'dockerode'", "'../activities/engines'", "'../src/config'"]);
  });

  it('rejects them in the pure modules that workflow code imports', async () => {
    expect(await restrictedImports('src/container-spec.ts', "import { createHash } from 'crypto';")).toHaveLength(1);
  });
});
