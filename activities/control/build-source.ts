// What a build may read, decided on the build host before anything is packed or fetched: a
// directory context inside one of the build roots (DEPLOYER_BUILD_ROOTS) once its symbolic
// links are resolved, with its Dockerfile and .dockerignore inside it; a git URL under one of
// the prefixes (DEPLOYER_GIT_PREFIXES). Without it a request could pack any directory the
// worker reads (the stack's state holds the payload keys, the TLS and Kubernetes keys and the
// secrets) and push it to the registry. The bridge checks git URLs already; this check is the
// one that holds for a workflow started without the bridge, and the only one that can see links.
import { realpathSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BuildSourceNotAllowedError, InvalidBuildContextError } from '../../src/core/errors';
import { gitSourceProblem } from '../../src/core/git-source';

export interface BuildSourcePolicy {
  roots: readonly string[];
  gitPrefixes: readonly string[];
}

/** Whether `path` is `dir` or lies below it; both absolute and normalised. */
export function within(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith('/') ? dir : `${dir}/`);
}

function realPath(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

/** Refuses a git source the policy does not allow, never quoting the URL (it may carry credentials). */
export function checkGitSource(context: string, policy: BuildSourcePolicy): void {
  const problem = gitSourceProblem(context, policy.gitPrefixes);
  if (problem !== undefined) throw new BuildSourceNotAllowedError(`the git source ${problem}`);
}

/**
 * The real directory to pack for `context`, once it is known to lie inside a root with its
 * Dockerfile (and .dockerignore, if any) inside it; else a named error saying why not. A
 * context outside every root gets the same answer whether it exists or not.
 */
export function allowedContext(context: string, dockerfile: string, policy: BuildSourcePolicy): string {
  const where = `DEPLOYER_BUILD_ROOTS: ${policy.roots.join(', ') || 'none'}`;
  if (policy.roots.length === 0) {
    throw new BuildSourceNotAllowedError(`build context ${context} is not allowed: no directory of the build host may be one (${where}); its operator sets the directories builds may read`);
  }
  const roots = policy.roots.map(realPath).filter((r) => r !== undefined);
  const real = realPath(context);
  if (real === undefined) {
    if (policy.roots.some((r) => within(resolve(context), r))) throw new InvalidBuildContextError(`build context ${context} is not a readable directory on the build host`);
    throw new BuildSourceNotAllowedError(`build context ${context} is outside the directories builds may read (${where})`);
  }
  if (!roots.some((r) => within(real, r))) {
    const how = real === resolve(context) ? 'is outside' : 'leads, through a symbolic link, outside';
    throw new BuildSourceNotAllowedError(`build context ${context} ${how} the directories builds may read (${where})`);
  }
  if (!statSync(real).isDirectory()) throw new InvalidBuildContextError(`build context ${context} is not a directory`);
  for (const [name, required] of [[dockerfile, true], ['.dockerignore', false]] as const) {
    const file = realPath(join(real, name));
    if (file === undefined) {
      if (required) throw new InvalidBuildContextError(`the Dockerfile ${name} is not in build context ${context}`);
      continue;
    }
    if (!within(file, real)) throw new BuildSourceNotAllowedError(`${name} in build context ${context} leads, through a symbolic link, outside the context`);
    if (!statSync(file).isFile()) throw new InvalidBuildContextError(`${name} in build context ${context} is not a file`);
  }
  return real;
}
