import type { IncomingMessage, ServerResponse } from 'node:http';
import type { StatusSnapshot } from '../status/status.js';

export interface HttpSources {
  status: (session?: string) => StatusSnapshot;
  metrics: { text: () => Promise<string>; contentType: string };
  /**
   * False with a session token and no --public-status: /status and /metrics are refused (no proof
   * possible over HTTP; the metrics carry session names, states and counts too).
   */
  statusPublic?: boolean;
}

/** GET /healthz, GET /status[?session=NAME] and GET /metrics (Prometheus) on the coordinator's port. */
export function serveHttp(req: IncomingMessage, res: ServerResponse, sources: HttpSources): void {
  const url = new URL(req.url ?? '/', 'http://coordinator');
  const send = (code: number, type: string, body: string): void => {
    res.writeHead(code, { 'content-type': type, 'cache-control': 'no-store' });
    res.end(body);
  };
  if (req.method !== 'GET') return send(405, 'text/plain', 'method not allowed\n');
  if (url.pathname === '/healthz') return send(200, 'text/plain', 'ok\n');
  if (url.pathname === '/status') {
    if (sources.statusPublic === false)
      return send(403, 'text/plain', 'status needs the session token: use cascade status\n');
    const session = url.searchParams.get('session') ?? undefined;
    return send(200, 'application/json', `${JSON.stringify(sources.status(session))}\n`);
  }
  if (url.pathname === '/metrics') {
    if (sources.statusPublic === false)
      return send(403, 'text/plain', 'metrics need the session token: use cascade status (or --public-status)\n');
    sources.metrics.text().then(
      (body) => send(200, sources.metrics.contentType, body),
      (err: unknown) => send(500, 'text/plain', `metrics failed: ${String(err)}\n`),
    );
    return;
  }
  send(404, 'text/plain', 'not found\n');
}
