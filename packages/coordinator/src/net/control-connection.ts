import {
  CascadeError,
  decodeClientMessage,
  encodeControl,
  newNonce,
  type ClientMessage,
  type CoordinatorMessage,
  type Logger,
} from '@cascade/common';
import type WebSocket from 'ws';
import type { Member, MemberConnection } from '../members/member.js';
import { MessageBudget } from './message-budget.js';
import { raiseMaxPayload } from './receiver-limits.js';

export interface ConnectionLimits {
  /** Invalid messages tolerated before the connection is closed. */
  maxBadMessages: number;
  helloTimeoutMs: number;
  /** Largest message before hello passed (a hello fits; nothing else may be sent yet). */
  maxHelloBytes: number;
  maxMessageBytes: number;
  /** Messages per second one connection may send (sustained), and its burst. */
  maxMessagesPerSecond: number;
  messageBurst: number;
}

/**
 * One ws connection to the coordinator: decodes and validates every frame, counts bad ones,
 * enforces hello-first and the hello timeout. Never throws out of a socket handler.
 */
export class ControlConnection implements MemberConnection {
  /** Who is at the other end, once its hello passed (members/member-table.ts). */
  member: Member | null = null;
  private bad = 0;
  private closing = false;
  private helloTimer: NodeJS.Timeout | null;
  alive = true;
  readonly remote: string;
  /** Remote IP alone (for per-address limits). */
  readonly address: string;
  /** The coordinator's address on this connection (reachability: addresses.ts). */
  readonly localAddress: string | null;
  /** This connection's challenge: the hello must prove the token over it (hello-auth.ts). */
  readonly nonce = newNonce();
  private readonly budget: MessageBudget;

  constructor(
    readonly ws: WebSocket,
    remote: { address: string; port: number; localAddress?: string | undefined },
    private readonly limits: ConnectionLimits,
    private readonly log: Logger,
    private readonly onMessage: (conn: ControlConnection, msg: ClientMessage) => void,
  ) {
    this.address = remote.address;
    this.localAddress = remote.localAddress ?? null;
    this.remote = `${remote.address}:${remote.port}`;
    this.budget = new MessageBudget(limits.maxMessagesPerSecond, limits.messageBurst);
    this.helloTimer = setTimeout(
      () => this.fail(new CascadeError('ERR_HELLO_TIMEOUT', 'no hello in time')),
      limits.helloTimeoutMs,
    );
    ws.on('pong', () => (this.alive = true));
    ws.on('message', (data: Buffer, isBinary: boolean) => this.receive(data, isBinary));
  }

  send(msg: CoordinatorMessage): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(encodeControl(msg));
  }

  /** Send an error and close the connection (1008 policy violation). */
  fail(err: CascadeError): void {
    if (this.closing) return;
    this.closing = true;
    this.log.warn(
      { code: err.code, remote: this.remote, peer: this.member?.name, reason: err.message },
      'closing control connection',
    );
    this.send({ type: 'error', code: err.code, message: err.message });
    this.ws.close(1008, err.code);
    setTimeout(() => this.ws.terminate(), 1000).unref();
  }

  /** Reply with an error but keep the connection (the peer may recover). */
  reject(err: CascadeError): void {
    this.log.info(
      { code: err.code, remote: this.remote, peer: this.member?.name, reason: err.message },
      'refused request',
    );
    this.send({ type: 'error', code: err.code, message: err.message });
  }

  welcomed(member: Member): void {
    if (!this.member) raiseMaxPayload(this.ws, this.limits.maxMessageBytes);
    this.member = member;
    if (this.helloTimer) clearTimeout(this.helloTimer);
    this.helloTimer = null;
  }

  replaced(): void {
    this.ws.close(1000, 'replaced');
  }

  dispose(): void {
    if (this.helloTimer) clearTimeout(this.helloTimer);
  }

  private receive(data: Buffer, isBinary: boolean): void {
    if (this.closing) return;
    if (!this.budget.take()) {
      this.fail(
        new CascadeError('ERR_RATE_LIMITED', `more than ${this.limits.maxMessagesPerSecond} messages per second`),
      );
      return;
    }
    let msg: ClientMessage;
    try {
      if (!isBinary) throw new CascadeError('ERR_MESSAGE_MALFORMED', 'control messages are binary msgpack frames');
      const { maxMessageBytes, maxHelloBytes } = this.limits;
      msg = decodeClientMessage(data, this.member ? maxMessageBytes : Math.min(maxHelloBytes, maxMessageBytes));
      if (!this.member && msg.type !== 'hello')
        throw new CascadeError('ERR_HELLO_REQUIRED', 'the first message must be hello');
      if (this.member && msg.type === 'hello')
        throw new CascadeError('ERR_MESSAGE_MALFORMED', 'hello was already said');
    } catch (err) {
      const e = err instanceof CascadeError ? err : new CascadeError('ERR_MESSAGE_MALFORMED', String(err));
      if (!this.member || ++this.bad >= this.limits.maxBadMessages) {
        this.fail(
          this.member ? new CascadeError('ERR_TOO_MANY_BAD_MESSAGES', `${this.bad} invalid messages: ${e.message}`) : e,
        );
      } else {
        this.reject(e);
      }
      return;
    }
    try {
      this.onMessage(this, msg);
    } catch (err) {
      // A refusal (e.g. an invalid manifest) is answered with its code; anything else is a handler
      // bug, which must not take the coordinator down: tell the client and log it loudly.
      if (err instanceof CascadeError) return this.reject(err);
      this.log.error({ err, type: msg.type, peer: this.member?.name }, 'error handling control message');
      this.reject(new CascadeError('ERR_MESSAGE_MALFORMED', 'message could not be handled'));
    }
  }
}
