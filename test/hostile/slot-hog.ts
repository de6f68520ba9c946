import { connect, type Socket } from 'node:net';
import { decodeErrorBody, encodeGet, encodeHello, FrameDecoder, FrameType } from '@cascade/common';
import type { HostileLab } from './hostile-lab.js';
import { helloAs, type HostileControl } from './hostile-control.js';

/** A client holding a server slot: assigned like any peer, then one GET every `getEveryMs`. */
export interface SlotHog {
  control: HostileControl;
  socket: Socket;
  /** When its data connection was welcomed, and when it closed (null while open). */
  welcomedAt: number | null;
  closedAt: number | null;
  /** The code of the ERROR frame the server closed it with, if any. */
  code: string | null;
  stop(): void;
}

/**
 * Issue 29, finding 4: queue as a peer (hello, `want`), take the slot the coordinator assigns,
 * then ask for one slice every `getEveryMs`, so that the connection is never idle and never useful.
 */
export async function hogSlot(lab: HostileLab, id: string, local: string, getEveryMs: number): Promise<SlotHog> {
  const auth = lab.token ? { token: lab.token } : {};
  const [control] = await helloAs(lab.url, { role: 'peer', id, name: id, session: lab.session, ...auth }, local);
  const session = await control.next((m) => m.type === 'session', 30_000);
  const imageId = (session.manifest as { imageId: string }).imageId;
  control.send({ type: 'want', have: 0 });
  const assign = await control.next((m) => m.type === 'assign', 30_000);
  const server = assign.server as { host: string; port: number };
  const socket = connect({ host: server.host, port: server.port, localAddress: local });
  let timer: NodeJS.Timeout | null = null;
  const hog: SlotHog = {
    control,
    socket,
    welcomedAt: null,
    closedAt: null,
    code: null,
    stop: () => {
      if (timer) clearInterval(timer);
      socket.destroy();
      control.close();
    },
  };
  const decoder = new FrameDecoder({
    maxSliceBytes: 64 * 1024 * 1024,
    accept: [FrameType.WELCOME, FrameType.SLICE, FrameType.ERROR],
  });
  let next = 0;
  socket.on('error', () => undefined);
  socket.on('close', () => {
    hog.closedAt = Date.now();
    if (timer) clearInterval(timer);
  });
  socket.on('data', (chunk: Buffer) => {
    let frames;
    try {
      frames = decoder.push(chunk);
    } catch {
      return void socket.destroy();
    }
    for (const f of frames) {
      if (f.type === FrameType.WELCOME) hog.welcomedAt = Date.now();
      if (f.type === FrameType.ERROR) hog.code = decodeErrorBody(f).code;
    }
  });
  socket.on('connect', () => {
    socket.write(encodeHello({ session: lab.session, imageId, ticket: assign.ticket as string, client: id }));
    socket.write(encodeGet(next++));
    timer = setInterval(() => socket.write(encodeGet(next++)), getEveryMs);
  });
  await new Promise<void>((resolve) => {
    const check = setInterval(() => {
      if (hog.welcomedAt !== null || hog.closedAt !== null) {
        clearInterval(check);
        resolve();
      }
    }, 20);
  });
  return hog;
}
