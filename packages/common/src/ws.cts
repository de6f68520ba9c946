/**
 * ws, loaded through its CommonJS entry. `import … from 'ws'` in an ES module loads ws's
 * wrapper.mjs, which imports eight of ws's CommonJS files one by one, and Node parses each for its
 * export names (cjs-module-lexer) before running it: ~20 ms of every role's startup. Imported from
 * here, ws's files are plainly require()d. The same classes either way (one CommonJS cache).
 *
 * @example
 * ```ts
 * import WebSocket from '@cascade/common/ws';
 * const { WebSocketServer } = WebSocket;
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the point of this file: ws through require()
import WebSocket = require('ws');

export = WebSocket;
