// Who may call the API: bearer tokens (RFC 6750), each with a role, `viewer` (reads only) or
// `operator` (everything). The server keeps no token, only a salted scrypt hash of each, in a
// file of JSON lines (or one JSON array) of {name, role, salt, hash}, so that a copy of the
// file lets nobody in. The file is re-read when its size or modification time changes
// (a stat per request), so that adding or revoking a token needs no restart.
import { createHash, randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { readFileSync, statSync } from 'node:fs';
import type { MiddlewareHandler } from 'hono';
import { z } from 'zod';
import { formatPath } from '../core/issues';
import { problem } from './problem';

export const ROLES = ['viewer', 'operator'] as const;
export type Role = (typeof ROLES)[number];

export const tokenEntrySchema = z.strictObject({
  name: z.string().min(1),
  role: z.enum(ROLES),
  salt: z.string().regex(/^[0-9a-f]{32,}$/, 'must be at least 16 random bytes, hex'),
  hash: z.string().regex(/^[0-9a-f]{64}$/, 'must be a 32-byte scrypt hash, hex'),
});
export type TokenEntry = z.infer<typeof tokenEntrySchema>;

/** Thrown when the tokens file cannot be read as token entries: the API then lets nobody in. */
export class TokensFileError extends Error {
  override readonly name = 'TokensFileError';
  constructor(
    readonly path: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(`${path}: ${message}`, options);
  }
}

const KEY_LENGTH = 32;

export function hashToken(token: string, salt: string): string {
  return scryptSync(token, salt, KEY_LENGTH).toString('hex');
}

const scryptAsync = promisify(scrypt) as (password: string, salt: string, keylen: number) => Promise<Buffer>;

/** A new token (shown once) and the entry the tokens file keeps of it. */
export function newToken(name: string, role: Role): { token: string; entry: TokenEntry } {
  const token = randomBytes(32).toString('base64url');
  const salt = randomBytes(16).toString('hex');
  return { token, entry: { name, role, salt, hash: hashToken(token, salt) } };
}

export function parseTokens(path: string, text: string): TokenEntry[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  let values: unknown[];
  try {
    values = trimmed.startsWith('[') ? (JSON.parse(trimmed) as unknown[]) : trimmed.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as unknown);
  } catch (err) {
    throw new TokensFileError(path, `not JSON lines or a JSON array: ${(err as Error).message}`, { cause: err });
  }
  return values.map((v, i) => {
    const parsed = tokenEntrySchema.safeParse(v);
    if (!parsed.success) throw new TokensFileError(path, `entry ${i + 1}: ${parsed.error.issues.map((x) => `${formatPath(x.path) || 'entry'} ${x.message}`).join('; ')}`);
    return parsed.data;
  });
}

export interface TokenStore {
  /** The entry of `token`, or undefined when no entry matches. */
  verify(token: string): Promise<TokenEntry | undefined>;
}

/**
 * The tokens of the file at `path`, re-read whenever its size or mtime changes. A missing
 * file holds no token; an unreadable one lets nobody in until it is fixed (`onError` says why).
 * scrypt costs tens of milliseconds by design, so it runs off the event loop, and a token
 * once verified is remembered (by its SHA-256, in memory) until the file changes.
 */
export function fileTokenStore(path: string, onError: (err: Error) => void = () => {}): TokenStore {
  let seen = '';
  let entries: TokenEntry[] = [];
  let verified = new Map<string, TokenEntry>();
  function current(): TokenEntry[] {
    let stamp: string;
    try {
      const s = statSync(path);
      stamp = `${s.size}:${s.mtimeMs}:${s.ino}`;
    } catch {
      stamp = 'missing';
    }
    if (stamp === seen) return entries;
    seen = stamp;
    verified = new Map();
    try {
      entries = stamp === 'missing' ? [] : parseTokens(path, readFileSync(path, 'utf8'));
    } catch (err) {
      entries = [];
      onError(err as Error);
    }
    return entries;
  }
  return {
    async verify(token) {
      const list = current();
      const digest = createHash('sha256').update(token).digest('hex');
      const known = verified.get(digest);
      if (known !== undefined) return known;
      // Every entry is hashed and compared in constant time, so that the time taken says nothing of which one matched.
      let found: TokenEntry | undefined;
      for (const entry of list) {
        if (timingSafeEqual(await scryptAsync(token, entry.salt, KEY_LENGTH), Buffer.from(entry.hash, 'hex')) && found === undefined) found = entry;
      }
      // Remembered only if the file did not change meanwhile (a revocation during the hashing wins).
      if (found !== undefined && current() === list) verified.set(digest, found);
      return found;
    },
  };
}

/** The variables the auth middleware sets for the routes. */
export type AuthVariables = { caller: TokenEntry };

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** 401 without a valid bearer token, 403 for a viewer's write; never logs or echoes a token. */
export function requireToken(store: TokenStore): MiddlewareHandler<{ Variables: AuthVariables }> {
  return async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i.exec(header.trim());
    const challenge = { 'www-authenticate': 'Bearer realm="deployer"' };
    if (match === null) return problem(c, 401, 'a bearer token is required (Authorization: Bearer TOKEN)', { headers: challenge });
    const caller = await store.verify(match[1]!);
    if (caller === undefined) return problem(c, 401, 'the bearer token is not valid (unknown or revoked)', { headers: { 'www-authenticate': 'Bearer realm="deployer", error="invalid_token"' } });
    if (caller.role !== 'operator' && !READ_METHODS.has(c.req.method)) return problem(c, 403, `the token '${caller.name}' has the role ${caller.role}, which may only read; this needs the role operator`);
    c.set('caller', caller);
    await next();
  };
}
