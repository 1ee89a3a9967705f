// One way to make the API's routers: every router answers a request its route's schemas
// refuse (path, query, JSON body) with one 422 problem listing every issue, as the bridge's
// dead letters do, instead of @hono/zod-openapi's default zod error body.
import { OpenAPIHono } from '@hono/zod-openapi';
import { toIssue } from '../core/issues';
import type { AuthVariables } from './auth';
import { problem, PROBLEM_TYPES } from './problem';

export type ApiEnv = { Variables: AuthVariables };

export function createRouter(): OpenAPIHono<ApiEnv> {
  return new OpenAPIHono<ApiEnv>({
    defaultHook: (result, c) => {
      if (result.success) return undefined;
      // The issues' paths start inside the part that was checked: say which part it was.
      const issues = result.error.issues.map(toIssue).map((i) => ({ ...i, path: [result.target, ...i.path] }));
      return problem(c, 422, `the ${result.target} does not fit the API's schema`, { errors: issues, type: PROBLEM_TYPES.invalidRequest });
    },
  });
}
