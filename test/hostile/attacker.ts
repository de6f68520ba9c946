import { readFile } from 'node:fs/promises';
import type { HostileLab } from './hostile-lab.js';
import { helloAs, type HostileControl, type Msg } from './hostile-control.js';
import { fetchSlices, HostileServer } from './hostile-data.js';

export interface ImagedAttacker {
  control: HostileControl;
  welcome: Msg | null;
  manifest: { imageId: string; sliceSize: number; size: number; digests: unknown[] };
}

/**
 * An attacker that plays by the rules until it holds the image: hello as a peer (with the lab's
 * token when it has one), `want`, fetch every slice with the ticket it was assigned, `done`.
 * From then on the coordinator has every reason to let it `serve`.
 */
export async function becomeImaged(lab: HostileLab, id: string, local: string): Promise<ImagedAttacker> {
  const [control, welcome] = await helloAs(
    lab.url,
    { role: 'peer', id, name: id, session: lab.session, ...(lab.token ? { token: lab.token } : {}) },
    local,
  );
  const session = await control.next((m) => m.type === 'session', 30_000);
  const manifest = session.manifest as ImagedAttacker['manifest'];
  control.send({ type: 'want', have: 0 });
  const assign = await control.next((m) => m.type === 'assign', 30_000);
  const server = assign.server as { id: string; host: string; port: number };
  const hello = { session: lab.session, imageId: manifest.imageId, ticket: assign.ticket as string, client: id };
  await fetchSlices(server, hello, manifest.digests.length, local);
  control.send({ type: 'done', server: server.id, bytes: manifest.size, ms: 1000 });
  await control.sync();
  return { control, welcome, manifest };
}

/** A malicious server holding the lab's image: trickles (or corrupts) whatever it is asked. */
export async function hostileServerFor(
  lab: HostileLab,
  host: string,
  sliceSize: number,
  opts: { byteIntervalMs: number; corrupt?: boolean },
): Promise<HostileServer> {
  const image = await readFile(lab.image);
  const server = new HostileServer({
    host,
    byteIntervalMs: opts.byteIntervalMs,
    corrupt: opts.corrupt ?? false,
    slices: (i) => image.subarray(i * sliceSize, Math.min(image.length, (i + 1) * sliceSize)),
  });
  await server.listen();
  return server;
}
