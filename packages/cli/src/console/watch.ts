import { emitKeypressEvents } from 'node:readline';
import type { StatusSnapshot } from '@cascade/coordinator';
import ansiEscapes from 'ansi-escapes';
import { createLogUpdate } from 'log-update';
import { renderConsole } from './render.js';
import { StatusFeed } from './status-feed.js';

export interface WatchOptions {
  url: string;
  session?: string;
  tree: boolean;
  first: StatusSnapshot;
  intervalMs?: number;
  out?: NodeJS.WriteStream;
  input?: NodeJS.ReadStream;
  /** Session token and CA, as for every other command. */
  security?: { token?: Uint8Array | undefined; ca?: Buffer | undefined };
}

/**
 * `cascade status --watch`. On a terminal: a full-screen view (alternate screen) redrawn about
 * once a second and on resize; `t` toggles the tree, `q` or Ctrl-C quits. Otherwise: one plain
 * snapshot after another, without any escape sequence. Resolves when the operator quits.
 */
export function watchStatus(o: WatchOptions): Promise<void> {
  const out = o.out ?? process.stdout;
  return out.isTTY ? watchTerminal(o, out, o.input ?? process.stdin) : watchPlain(o, out);
}

function watchPlain(o: WatchOptions, out: NodeJS.WriteStream): Promise<void> {
  const print = (s: StatusSnapshot): void => {
    const lines = renderConsole(s, { columns: 100, rows: Infinity }, { tree: o.tree, source: o.url });
    out.write(`${lines.join('\n')}\n\n`);
  };
  print(o.first);
  const feed = new StatusFeed(o.url, o.session, o.intervalMs ?? 1000, print, () => undefined, o.security);
  feed.start();
  return untilSignal(out, () => feed.stop());
}

function watchTerminal(o: WatchOptions, out: NodeJS.WriteStream, input: NodeJS.ReadStream): Promise<void> {
  const screen = createLogUpdate(out);
  let snapshot = o.first;
  let tree = o.tree;
  let linked = true;
  const draw = (): void => {
    const source = linked ? o.url : `${o.url} (connection lost, retrying)`;
    const lines = renderConsole(
      snapshot,
      { columns: out.columns || 80, rows: (out.rows || 24) - 1 },
      { tree, source, keys: true },
    );
    screen(lines.join('\n'));
  };
  const feed = new StatusFeed(
    o.url,
    o.session,
    o.intervalMs ?? 1000,
    (s) => {
      snapshot = s;
      draw();
    },
    (up) => {
      linked = up;
      draw();
    },
    o.security,
  );
  out.write(ansiEscapes.enterAlternativeScreen);
  const onResize = (): void => {
    screen.clear();
    draw();
  };
  out.on('resize', onResize);
  draw();
  feed.start();
  return new Promise<void>((resolve) => {
    let stopped = false;
    const stop = (): void => {
      if (stopped) return;
      stopped = true;
      feed.stop();
      out.off('resize', onResize);
      stopKeys();
      screen.done();
      out.write(ansiEscapes.exitAlternativeScreen);
      resolve();
    };
    const stopKeys = onKeys(input, (key) => {
      if (key === 'q' || key === 'ctrl-c') stop();
      else if (key === 't') {
        tree = !tree;
        draw();
      }
    });
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}

/** Single keypresses from a terminal in raw mode (`ctrl-c` for Ctrl-C); returns the undo. */
function onKeys(input: NodeJS.ReadStream, handle: (key: string) => void): () => void {
  const listener = (_: string, key: { name?: string; ctrl?: boolean } | undefined): void => {
    if (key?.name) handle(key.ctrl ? `ctrl-${key.name}` : key.name);
  };
  emitKeypressEvents(input);
  if (input.isTTY) input.setRawMode(true);
  input.on('keypress', listener);
  input.resume();
  return () => {
    input.off('keypress', listener);
    if (input.isTTY) input.setRawMode(false);
    input.pause();
  };
}

/** Until SIGINT/SIGTERM or the reader goes away (a closed pipe). */
function untilSignal(out: NodeJS.WriteStream, cleanup: () => void): Promise<void> {
  return new Promise((resolve) => {
    let stopped = false;
    const stop = (): void => {
      if (stopped) return;
      stopped = true;
      cleanup();
      resolve();
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    out.once('error', stop);
  });
}
