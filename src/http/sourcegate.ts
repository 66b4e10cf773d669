// Answers an address blocked for guessing passwords (bcryptpool.ts) at the accept, before any of
// its bytes are parsed: a fixed 429 written on the bare socket, then closed. A guesser that keeps
// coming then costs the gateway an accept, a write and a close per connection, not an HTTP
// parser, request and response objects, the auth hook and a held timer per request; and since
// refusals close their connection (webconfig.ts), a keep-alive flood comes through here as well.
//
// Not shut out: an address a verified credential came from recently (a NAT, a proxy, a shared
// host): its users would otherwise be refused with the guesser for the block's whole length. Its
// guessers keep getting the per-request 429 instead, and its verified credentials are served.
// Under TLS the answer would need the handshake this spares, so a blocked address's connection
// is closed at the accept without one.
//
// The answer is held `holdMs` (as the per-request refusals are) so that a client retrying at once
// sends one request per connection per hold, not as many as the loop can accept; at most
// `maxHeld` connections are held (beyond them, answered at once), one timer for all.
import { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { PeerHandle } from './connections.js';

export interface SourceGateOptions {
  /** How long the answer is held (default 1 s). */
  holdMs?: number;
  /** Connections held at once at most (default 1024). */
  maxHeld?: number;
  /** How long a verified credential from an address keeps it from being shut out (default 10 min). */
  vouchMs?: number;
  log?: Logger;
}

/** Addresses remembered as vouched for at most (the oldest forgotten first). */
const MAX_VOUCHED = 10_000;
/** How often the gate logs what it answered, at most. */
const LOG_EVERY_MS = 10_000;
/** How long an answered connection may stay before it is closed whatever the client does. */
const LINGER_MS = 2000;

interface Held {
  socket: Socket;
  due: number;
  answer: Buffer;
}

export class SourceGate {
  private readonly holdMs: number;
  private readonly maxHeld: number;
  private readonly vouchMs: number;
  private readonly log: Logger | undefined;
  /** Address → when a verified credential last came from it; the least recent first. */
  private readonly vouched = new Map<string, number>();
  /** Oldest first; all held equally long, so also in the order they are due. */
  private held: Held[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** The answers by Retry-After seconds, made for one set of configured headers. */
  private answers = new Map<number, Buffer>();
  private answersFor: ReadonlyArray<[string, string]> | undefined;
  private counts = { answered: 0, closed: 0 };
  private lastLog = -Infinity;

  /**
   * @param blockedMs how long `source` is still blocked (0: not blocked)
   * @param headers the web config file's headers, which every answer carries
   */
  constructor(
    private readonly blockedMs: (source: string) => number,
    private readonly headers: () => ReadonlyArray<[string, string]> = () => [],
    options: SourceGateOptions = {},
  ) {
    this.holdMs = options.holdMs ?? 1000;
    this.maxHeld = options.maxHeld ?? 1024;
    this.vouchMs = options.vouchMs ?? 10 * 60_000;
    this.log = options.log;
  }

  /** A verified credential came from `source`. */
  vouch(source: string): void {
    const now = performance.now();
    const last = this.vouched.get(source);
    // Moved to the end only now and then: this runs on every verified request.
    if (last !== undefined && now - last < this.vouchMs / 10) return;
    this.vouched.delete(source);
    this.vouched.set(source, now);
    if (this.vouched.size > MAX_VOUCHED) this.vouched.delete(this.vouched.keys().next().value as string);
  }

  /** Seconds `source` is still shut out for (0: let it in), asked at each accept. */
  shutOut(source: string): number {
    const ms = this.blockedMs(source);
    if (ms <= 0) return 0;
    const vouched = this.vouched.get(source);
    if (vouched !== undefined && performance.now() - vouched < this.vouchMs) return 0;
    return Math.ceil(ms / 1000);
  }

  /** Answers an accepted connection from a shut-out address; `tls`: closes it instead. */
  refuse(handle: PeerHandle, seconds: number, tls: boolean): void {
    if (tls) {
      handle.close();
      this.count('closed');
      return;
    }
    // Node's own accept builds its sockets the same way (there is no public constructor option).
    const socket = new Socket({ handle, readable: true, writable: true } as ConstructorParameters<typeof Socket>[0]);
    socket.on('error', () => socket.destroy());
    socket.resume(); // its request is read and dropped, unparsed: closing with it unread would reset the answer
    const answer = this.answer(seconds);
    this.count('answered');
    if (this.held.length >= this.maxHeld) {
      this.send(socket, answer);
      return;
    }
    this.held.push({ socket, due: performance.now() + this.holdMs, answer });
    this.timer ??= setTimeout(() => this.release(), this.holdMs).unref();
  }

  /** Answers the held connections now (at shutdown). */
  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const h of this.held.splice(0)) this.send(h.socket, h.answer);
  }

  private release(): void {
    this.timer = undefined;
    const now = performance.now();
    let n = 0;
    while (n < this.held.length && this.held[n].due <= now) n++;
    for (const h of this.held.splice(0, n)) this.send(h.socket, h.answer);
    if (this.held.length > 0) this.timer = setTimeout(() => this.release(), this.held[0].due - now).unref();
  }

  private send(socket: Socket, answer: Buffer): void {
    if (socket.destroyed) return;
    socket.setTimeout(LINGER_MS, () => socket.destroy());
    socket.end(answer);
  }

  private answer(seconds: number): Buffer {
    const headers = this.headers();
    if (headers !== this.answersFor) {
      this.answers = new Map();
      this.answersFor = headers;
    }
    let answer = this.answers.get(seconds);
    if (answer === undefined) {
      const body = `too many failed password checks from your address; try again in ${seconds} s\n`;
      const extra = headers.map(([name, value]) => `${name}: ${value}\r\n`).join('');
      answer = Buffer.from(
        `HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain; charset=utf-8\r\n` +
          `X-Content-Type-Options: nosniff\r\n${extra}Retry-After: ${seconds}\r\nConnection: close\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      this.answers.set(seconds, answer);
    }
    return answer;
  }

  private count(what: 'answered' | 'closed'): void {
    this.counts[what]++;
    const now = performance.now();
    if (now - this.lastLog < LOG_EVERY_MS) return;
    this.log?.warn(
      { answered_429: this.counts.answered, closed_tls: this.counts.closed, held: this.held.length },
      'connections from addresses blocked for failed password checks answered at the accept' +
        (this.lastLog === -Infinity ? '' : ` in the last ${Math.round((now - this.lastLog) / 1000)} s`),
    );
    this.lastLog = now;
    this.counts = { answered: 0, closed: 0 };
  }
}
