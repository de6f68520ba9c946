import assert from 'node:assert/strict';
import {
  CascadeError,
  MANIFEST_VERSION,
  type ClientMessageOf,
  type CoordinatorMessage,
  type Manifest,
  type Role,
} from '@cascade/common';
import type { Member, MemberConnection } from '../src/members/member.js';
import type { MemberTable } from '../src/members/member-table.js';

/** A control connection without a socket: records what it was sent and whether it was replaced. */
export class StubConnection implements MemberConnection {
  member: Member | null = null;
  readonly sent: CoordinatorMessage[] = [];
  readonly rejected: CascadeError[] = [];
  /** The error it was closed with (a refused hello). */
  failedWith: CascadeError | null = null;
  readonly nonce = Buffer.alloc(32);
  wasReplaced = false;

  readonly address: string;

  constructor(
    readonly remote = '127.0.0.1:40000',
    readonly localAddress: string | null = '127.0.0.1',
  ) {
    this.address = remote.slice(0, remote.lastIndexOf(':'));
  }

  send(msg: CoordinatorMessage): void {
    this.sent.push(msg);
  }
  reject(err: CascadeError): void {
    this.rejected.push(err);
  }
  fail(err: CascadeError): void {
    this.failedWith = err;
  }
  welcomed(member: Member): void {
    this.member = member;
  }
  replaced(): void {
    this.wasReplaced = true;
  }
  /** The messages of one type it was sent. */
  of<T extends CoordinatorMessage['type']>(type: T): Array<Extract<CoordinatorMessage, { type: T }>> {
    return this.sent.filter((m): m is Extract<CoordinatorMessage, { type: T }> => m.type === type);
  }
}

export function helloOf(id: string, role: Role, session?: string): ClientMessageOf<'hello'> {
  return { type: 'hello', protocol: 2, role, id, name: `name-${id}`, ...(session ? { session } : {}) };
}

/** A manifest of `slices` slices (never parsed: the coordinator reads its name, id, size and digests). */
export function manifestOf(imageId: string, slices: number): Manifest {
  return {
    version: MANIFEST_VERSION,
    name: `${imageId}.img`,
    imageId,
    size: slices * 65536,
    sliceSize: 65536,
    digest: 'md5',
    digests: Array.from({ length: slices }, () => '0'.repeat(32)),
    zero: '',
  };
}

/** Welcome `hello` on `conn` into `table`; the test fails if it is refused. */
export function admit(table: MemberTable, conn: MemberConnection, hello: ClientMessageOf<'hello'>, now = 0): Member {
  const m = table.welcome(conn, hello, now);
  assert.ok(!(m instanceof CascadeError), `hello refused: ${m instanceof CascadeError ? m.code : ''}`);
  return m;
}
