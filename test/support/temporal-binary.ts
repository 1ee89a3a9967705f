// Where the stack scripts cache the Temporal CLI built from its Go module (scripts/lib.sh).
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export function temporalBinary(): string {
  const version = process.env.TEMPORAL_CLI_VERSION ?? 'v1.5.1';
  const cache = process.env.DEPLOYER_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'deployer');
  const path = process.env.TEMPORAL_BIN ?? join(cache, `temporal-${version}`, 'temporal');
  if (!existsSync(path)) throw new Error(`no Temporal CLI at ${path}: run scripts/install.sh (or npm test) first`);
  return path;
}
