import type { IncomingMessage, ServerResponse } from 'node:http';
import type { StatusSnapshot } from './status.js';

/** GET /healthz and GET /status[?session=NAME] on the coordinator's port. */
export function serveHttp(
  req: IncomingMessage,
  res: ServerResponse,
  status: (session?: string) => StatusSnapshot,
  statusPublic = true,
): void {
  const url = new URL(req.url ?? '/', 'http://coordinator');
  const send = (code: number, type: string, body: string): void => {
    res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store' });
    res.end(body);
  };
  if (req.method !== 'GET') return send(405, 'text/plain', 'method not allowed\n');
  if (url.pathname === '/healthz') return send(200, 'text/plain', 'ok\n');
  if (url.pathname === '/status') {
    // With a session token, status is shown over HTTP only with --public-status (no proof possible here).
    if (!statusPublic) return send(403, 'text/plain', 'status needs the session token: use cascade status\n');
    return send(200, 'application/json', `${JSON.stringify(status(url.searchParams.get('session') ?? undefined))}\n`);
  }
  send(404, 'text/plain', 'not found\n');
}
