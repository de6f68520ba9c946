/** Type declarations for the untyped devDependencies the benchmarks use. */
declare module 'bencode' {
  const bencode: { encode(value: unknown): Buffer; decode(data: Uint8Array): unknown };
  export default bencode;
}

declare module 'create-torrent' {
  interface CreateTorrentOptions {
    name?: string;
    announceList?: string[][];
    private?: boolean;
    pieceLength?: number;
    createdBy?: string;
    creationDate?: Date;
  }
  export default function createTorrent(
    input: string,
    opts: CreateTorrentOptions,
    cb: (err: Error | null, torrent: Buffer) => void,
  ): void;
}
