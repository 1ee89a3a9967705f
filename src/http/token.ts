// `node dist/src/http/token.js NAME ROLE`: makes a bearer token for the HTTP API, prints it
// once (it is kept nowhere), and appends its salted hash to the tokens file
// (DEPLOYER_HTTP_TOKENS_FILE), which the API re-reads on its next request. To revoke a
// token, delete its line.
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { loadConfig } from '../config';
import { newToken, ROLES, type Role } from './auth';

function main(argv: string[]): number {
  const [name, role] = argv;
  if (name === undefined || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(name) || !(ROLES as readonly string[]).includes(role ?? '')) {
    process.stderr.write(`usage: token NAME ROLE\n  NAME: letters, digits, ".", "_" or "-" (who holds the token)\n  ROLE: ${ROLES.join(' (reads only) or ')} (everything)\n`);
    return 2;
  }
  const path = loadConfig().http.tokensPath;
  const { token, entry } = newToken(name, role as Role);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  appendFileSync(path, `${JSON.stringify(entry)}\n`, { mode: 0o600 });
  process.stderr.write(`added ${role} token '${name}' to ${path}; it is shown once:\n`);
  process.stdout.write(`${token}\n`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
