/**
 * @cascade/common — wire formats and shared mechanisms used by every role.
 *
 * @example
 * ```ts
 * import { buildManifest, encodeControl, decodeClientMessage } from '@cascade/common';
 * const manifest = await buildManifest('lab.img');
 * const frame = encodeControl({ type: 'open-session', manifest: { ...manifest }, options: {} });
 * decodeClientMessage(frame); // validated, typed
 * ```
 */
export * from './errors.js';
export * from './units.js';
export * from './logger.js';
export * from './manifest/manifest.js';
export * from './manifest/build-manifest.js';
export * from './manifest/digest.js';
export * from './manifest/manifest-signature.js';
export * from './manifest/used-map.js';
export * from './protocol/control-messages.js';
export * from './protocol/control-codec.js';
export * from './protocol/status-snapshot.js';
export * from './protocol/data-frames.js';
export * from './protocol/ticket.js';
export * from './protocol/hello-auth.js';
export * from './data/slice-source.js';
export * from './data/slice-stream.js';
export * from './data/buffer-pool.js';
export * from './data/client-floor.js';
export * from './data/slice-server.js';
export * from './data/rate-limiter.js';
export * from './data/block-device.js';
export * from './data/advertise.js';
export * from './data/serve-image.js';
export * from './data/digest-worker.js';
export * from './compress/slice-compression.js';
export * from './compress/zstd-codec.js';
export * from './compress/zstd-thread.js';
export * from './compress/compress-pool.js';
export * from './control/control-client.js';
export * from './role/role-skeleton.js';
export * from './config/kernel-cmdline.js';
export * from './config/sources.js';
export * from './net/subnets.js';
export * from './protocol/discovery-messages.js';
export { readDiskLayout, type DiskLayout, type DiskLayoutOptions, type DiskPartition } from './disk/disk-layout.js';
export { readPartitionTable, type PartitionEntry, type PartitionTable } from './disk/partition-table.js';
export { mergeRanges, rangesBytes, usedWithin, type ByteRange } from './disk/ranges.js';
export type { FsKind, ReadAt } from './disk/read-source.js';
