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
// `maxHeld` connections are held (beyond them, closed at once), one timer for all. While held,
// a connection is only its accepted handle, unread: no socket object. Answering costs a socket
// (its streams, listeners and a timer: ~5x the accept and close, measured), so at most
// `answersPerSec` are answered, a tenth of a second's worth at once (a bucket that small: a full
// second's burst of sockets, at a flood's start, held the event loop ~25 ms); the others are
// closed when their hold ends, without an answer, as under TLS. A few of a flood's connections
// then learn why and for how long; the rest cost an accept and a close. Holds end a chunk at a
// time, the event loop getting a turn between chunks: a burst of connections is due at once.
import { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { PeerHandle } from './connections.js';

export interface SourceGateOptions {
  /** How long the answer is held (default 1 s). */
  holdMs?: number;
  /** Connections held at once at most (default 1024). */
  maxHeld?: number;
  /** Held connections answered (429) per second at most, a tenth of that at once; the rest closed (default 20). */
  answersPerSec?: number;
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
/** Holds ended between two turns of the event loop at most. */
const CHUNK = 64;
/**
 * Holds end together, at most this often (so up to this much late): a flood's connections, each
 * due at its own time, would otherwise cost a timer's run each (a thousand a second).
 */
const TICK_MS = 50;

interface Held {
  handle: PeerHandle;
  due: number;
  seconds: number;
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
  /** The next release: a timer until the first hold ends, an immediate while more are due. */
  private next: { timer: NodeJS.Timeout } | { immediate: NodeJS.Immediate } | undefined;
  private readonly answersPerSec: number;
  /** Answers that may be sent at once. */
  private readonly burst: number;
  /** Answers that may be sent now (a bucket refilled at answersPerSec, holding `burst`). */
  private tokens: number;
  private filled = performance.now();
  /** The answers by Retry-After seconds, made for one set of configured headers. */
  private answers = new Map<number, Buffer>();
  private answersFor: ReadonlyArray<[string, string]> | undefined;
  private counts = { answered: 0, closed: 0, closedTls: 0 };
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
    this.answersPerSec = options.answersPerSec ?? 20;
    this.burst = this.answersPerSec > 0 ? Math.max(1, this.answersPerSec / 10) : 0;
    this.tokens = this.burst;
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

  /** Holds an accepted connection from a shut-out address, to answer or close; `tls`: closes it at once. */
  refuse(handle: PeerHandle, seconds: number, tls: boolean): void {
    if (tls || this.held.length >= this.maxHeld) {
      handle.close();
      this.count(tls ? 'closedTls' : 'closed');
      return;
    }
    this.held.push({ handle, due: performance.now() + this.holdMs, seconds });
    this.next ??= { timer: setTimeout(() => this.release(), this.holdMs).unref() };
  }

  /** Ends the holds now (at shutdown). */
  close(): void {
    if (this.next !== undefined && 'timer' in this.next) clearTimeout(this.next.timer);
    if (this.next !== undefined && 'immediate' in this.next) clearImmediate(this.next.immediate);
    this.next = undefined;
    for (const h of this.held.splice(0)) this.end(h);
  }

  /** Ends the holds that are due, a chunk per turn of the event loop. */
  private release(): void {
    this.next = undefined;
    const now = performance.now();
    let n = 0;
    while (n < this.held.length && n < CHUNK && this.held[n].due <= now) n++;
    for (const h of this.held.splice(0, n)) this.end(h);
    if (this.held.length === 0) return;
    const wait = this.held[0].due - now;
    this.next =
      wait <= 0
        ? { immediate: setImmediate(() => this.release()).unref() }
        : { timer: setTimeout(() => this.release(), Math.max(wait, TICK_MS)).unref() };
  }

  /** Answers a held connection while the bucket allows, else closes it. */
  private end(h: Held): void {
    const now = performance.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.filled) * this.answersPerSec) / 1000);
    this.filled = now;
    if (this.tokens < 1) {
      h.handle.close();
      this.count('closed');
      return;
    }
    this.tokens--;
    // Node's own accept builds its sockets the same way (there is no public constructor option).
    const socket = new Socket({ handle: h.handle, readable: true, writable: true } as ConstructorParameters<
      typeof Socket
    >[0]);
    socket.on('error', () => socket.destroy());
    socket.resume(); // its request is read and dropped, unparsed: closing with it unread would reset the answer
    this.send(socket, this.answer(h.seconds));
    this.count('answered');
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

  private count(what: keyof SourceGate['counts']): void {
    this.counts[what]++;
    const now = performance.now();
    if (now - this.lastLog < LOG_EVERY_MS) return;
    const { answered, closed, closedTls } = this.counts;
    this.log?.warn(
      { answered_429: answered, closed_unanswered: closed, closed_tls: closedTls, held: this.held.length },
      'connections from addresses blocked for failed password checks answered at the accept' +
        (this.lastLog === -Infinity ? '' : ` in the last ${Math.round((now - this.lastLog) / 1000)} s`),
    );
    this.lastLog = now;
    this.counts = { answered: 0, closed: 0, closedTls: 0 };
  }
}
