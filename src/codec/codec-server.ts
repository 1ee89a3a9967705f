// Temporal's remote codec protocol over HTTP, so that the Temporal Web UI and CLI show
// encrypted payloads to an operator who holds the codec token: POST …/decode and
// POST …/encode take and answer {"payloads": [...]} in proto3 JSON, every bytes field
// (data, each metadata value) base64. Only the last path segment counts, as the protocol
// asks, so `/{namespace}/decode` (the CLI's endpoint template) works as well.
// https://github.com/temporalio/samples-go/blob/main/codec-server/protocol.md
//
// A request carries `Authorization: Bearer <token>` (the CLI: --codec-auth), or the session
// cookie a browser gets by entering the token at GET /: the Web UI can send cookies
// ("include cross-origin credentials") but an Authorization header only with its own
// OIDC access token, and only over https.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { PayloadCodec } from '@temporalio/common';
import { z } from 'zod';
import type { Secret } from '../config';
import type { Logger } from '../log';
import { PayloadAuthenticationError, UnknownPayloadKeyError } from './errors';
import { jsonPayloadSchema, payloadFromJson, payloadToJson } from './payload-json';

export interface CodecServerOptions {
  codec: PayloadCodec;
  token: Secret;
  /** Origins of the Temporal UI pages allowed to call the server from a browser (CORS). */
  origins: string[];
  log: Logger;
  /** Lifetime of a browser session; default 12 hours. */
  sessionMs?: number;
}

// Temporal limits a payload to 2 MiB by default; the UI sends a few at a time.
const MAX_BODY_BYTES = 16 * 1024 * 1024;
const SESSION_COOKIE = 'deployer-codec-session';

const payloadsSchema = z.object({ payloads: z.array(jsonPayloadSchema) });

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

const digest = (s: string) => createHash('sha256').update(s).digest();

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new HttpError(413, `request body over ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
}

function sendHtml(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Security-Policy': "default-src 'none'", ...headers }).end(body);
}

const SIGN_IN_PAGE = `<!doctype html><meta charset="utf-8"><title>Deployer codec server</title>
<h1>Deployer codec server</h1>
<p>Enter the codec token (DEPLOYER_CODEC_TOKEN) so that this browser may decode payloads for the Temporal UI.</p>
<form method="post" action="/session"><input type="password" name="token" autocomplete="off" autofocus> <button>Sign in</button></form>`;

const SIGNED_IN_PAGE = `<!doctype html><meta charset="utf-8"><title>Deployer codec server</title>
<h1>Signed in</h1>
<p>In the Temporal UI's codec server settings, set this server's address as the endpoint and tick
"Include cross-origin credentials".</p>`;

export function createCodecServer(options: CodecServerOptions): Server {
  const { codec, origins, log } = options;
  const sessionMs = options.sessionMs ?? 12 * 60 * 60 * 1000;
  const tokenDigest = digest(options.token.reveal());
  const sessions = new Map<string, number>();

  const isToken = (candidate: string) => timingSafeEqual(digest(candidate), tokenDigest);

  function hasSession(req: IncomingMessage): boolean {
    const now = Date.now();
    for (const [id, expires] of sessions) if (expires <= now) sessions.delete(id);
    const cookie = (req.headers.cookie ?? '').split(';').map((c) => c.trim()).find((c) => c.startsWith(`${SESSION_COOKIE}=`));
    return cookie !== undefined && sessions.has(cookie.slice(SESSION_COOKIE.length + 1));
  }

  function authenticated(req: IncomingMessage): boolean {
    const bearer = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '');
    if (bearer && isToken(bearer[1]!)) return true;
    // A UI behind its own login sends that login's token as a bearer too: a session still counts.
    // A cookie rides along with any request the browser makes, whichever page asks; only the UI may use it.
    return hasSession(req) && origins.includes(req.headers.origin ?? '');
  }

  async function convert(req: IncomingMessage, res: ServerResponse, direction: 'encode' | 'decode'): Promise<void> {
    if (!authenticated(req)) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="deployer-codec"');
      throw new HttpError(401, 'missing or wrong codec token');
    }
    let body: z.infer<typeof payloadsSchema>;
    try {
      body = payloadsSchema.parse(JSON.parse((await readBody(req, MAX_BODY_BYTES)).toString('utf8')));
    } catch (err) {
      if (err instanceof HttpError) throw err;
      throw new HttpError(400, 'the body must be {"payloads": [{"metadata": {...}, "data": "..."}]} with base64 bytes');
    }
    const payloads = body.payloads.map(payloadFromJson);
    try {
      const converted = direction === 'encode' ? await codec.encode(payloads) : await codec.decode(payloads);
      sendJson(res, 200, { payloads: converted.map(payloadToJson) });
    } catch (err) {
      if (err instanceof UnknownPayloadKeyError || err instanceof PayloadAuthenticationError) throw new HttpError(422, err.message);
      throw err;
    }
  }

  async function signIn(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const token = new URLSearchParams((await readBody(req, 4096)).toString('utf8')).get('token') ?? '';
    if (!isToken(token)) return sendHtml(res, 401, SIGN_IN_PAGE.replace('<form', '<p><strong>Wrong token.</strong></p><form'));
    const id = randomBytes(32).toString('base64url');
    sessions.set(id, Date.now() + sessionMs);
    // SameSite=Strict still reaches this server from the UI: a site is scheme and host, whatever the port.
    const cookie = `${SESSION_COOKIE}=${id}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${Math.floor(sessionMs / 1000)}`;
    sendHtml(res, 200, SIGNED_IN_PAGE, { 'Set-Cookie': cookie });
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const origin = req.headers.origin;
    const allowed = origin !== undefined && origins.includes(origin);
    if (allowed) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Allow-Credentials', 'true');
    }
    res.setHeader('Vary', 'Origin');
    const path = new URL(req.url ?? '/', 'http://codec').pathname;
    const last = path.split('/').at(-1);

    if (req.method === 'OPTIONS') {
      // A preflight never carries credentials; it only asks whether the real request may be sent.
      if (!allowed) throw new HttpError(403, `origin ${origin ?? '(none)'} is not allowed`);
      res.writeHead(204, {
        'Access-Control-Allow-Methods': 'POST, OPTIONS',
        'Access-Control-Allow-Headers': 'Content-Type, Authorization, X-Namespace',
        'Access-Control-Max-Age': '600',
      });
      res.end();
      return;
    }
    if (last === 'decode' || last === 'encode') {
      if (req.method !== 'POST') throw new HttpError(405, `${path} takes POST`);
      return convert(req, res, last);
    }
    if (path === '/' && req.method === 'GET') return sendHtml(res, 200, SIGN_IN_PAGE);
    if (path === '/session' && req.method === 'POST') return signIn(req, res);
    throw new HttpError(404, `no such endpoint: ${path}`);
  }

  return createServer(function handleCodecRequest(req, res) {
    route(req, res)
      .catch((err: unknown) => {
        const status = err instanceof HttpError ? err.status : 500;
        if (status === 500) log.error('codec request failed', { path: req.url, error: String(err) });
        if (res.headersSent) return void res.destroy();
        if (status === 413) res.setHeader('Connection', 'close');
        sendJson(res, status, { message: status === 500 ? 'internal error' : (err as Error).message });
      })
      .finally(() => log.debug('codec request', { method: req.method, path: req.url, status: res.statusCode }));
  });
}
