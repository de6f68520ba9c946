/**
 * @cascade/seeder — the file server's role: manifest building and caching, session opening,
 * serving.
 *
 * @example
 * ```ts
 * const seeder = new Seeder({ logger, image: 'lab.img', coordinator: 'ws://10.0.0.1:7770',
 *   session: 'lab-a', capacity: 2, listen: { host: '0.0.0.0', port: 0 }, sessionOptions: {} });
 * await seeder.run(); // until the session ends
 * ```
 */
export * from './manifest-cache.js';
export * from './cache-location.js';
export * from './manifest-check.js';
export * from './seeder.js';
export * from './seeder-components.js';
export * from './wire-cache.js';
