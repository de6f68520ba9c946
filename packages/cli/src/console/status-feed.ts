import { randomUUID } from 'node:crypto';
import { ControlClient, silentLogger } from '@cascade/common';
import type { StatusSnapshot } from '@cascade/coordinator';

/**
 * A status snapshot about once a second from one observer connection that reconnects after
 * a coordinator restart. `onSnapshot` gets each snapshot, `onLink` each change of connectivity.
 */
export class StatusFeed {
  private readonly client: ControlClient;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    url: string,
    private readonly session: string | undefined,
    private readonly intervalMs: number,
    onSnapshot: (s: StatusSnapshot) => void,
    onLink: (connected: boolean) => void,
    security: { token?: Uint8Array | undefined; ca?: Buffer | undefined } = {},
  ) {
    this.client = new ControlClient({
      url,
      ...security,
      logger: silentLogger(),
      reconnect: { initialMs: 500, maxMs: 5000, giveUpAfterMs: 24 * 3600_000 },
      hello: { role: 'observer', id: randomUUID(), name: `console@${process.env.USER ?? 'cli'}` },
      onConnected: () => {
        onLink(true);
        this.poll();
      },
      onDisconnected: () => onLink(false),
      onMessage: (m) => {
        if (m.type === 'status') onSnapshot(m.status);
      },
    });
  }

  start(): void {
    this.client.start().catch(() => undefined); // failures show as a lost link; it keeps retrying
    this.timer = setInterval(() => this.poll(), this.intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    void this.client.close();
  }

  private poll(): void {
    this.client.send({ type: 'get-status', ...(this.session ? { session: this.session } : {}) });
  }
}
