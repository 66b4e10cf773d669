// Who may hold the gateway's connections. Node's own `maxConnections` refuses whoever comes last,
// so a few hundred clients sending nothing (slowloris) lock everyone else out until they time
// out. Here:
// - The last `reserved` places (64 of 1024) are for sources (IP address, IPv6 /64) holding fewer
//   connections than that: a crowd from one source cannot fill them, so another client's
//   newcomer finds a place without closing anyone's.
// - Past that, a newcomer takes the place of the connection that matters least: a keep-alive
//   connection idle the longest (of its own source, if that source is big); else the slowest
//   connection of the source holding the most, when that source holds more than the newcomer's
//   would; else, when it cannot wait, the slowest connection anywhere that has sent less than
//   --web.min-upload-rate since it opened, once past the grace period.
// - Otherwise the newcomer waits, unread, in a queue of its own (as in the kernel's backlog, but
//   one the guard can order) until a place frees or --web.read-header-timeout passes; only when
//   that queue is as long as the limit is it refused. A refused client comes back: a crowd refused
//   each second costs an accept and a close per member each second, in bursts that other
//   clients' connections queue behind, where a waiting one costs nothing until it is let in.
// Apart from the cap, a request body arriving slower than --web.min-upload-rate after the grace
// period is answered 408 and its connection closed, a few at a time: a crowd that came at once
// becomes due at once, and would otherwise be cut, and let in again, in one stall.
// Refusals and closings are logged at most once per LOG_EVERY_MS, with their counts.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { Server as TlsServer } from 'node:tls';
import type { Logger } from 'pino';

export interface ConnectionLimits {
  maxConnections: number;
  /** Bytes per second a request body must average once past the grace period. */
  minUploadRate: number;
  /** The grace period; GRACE_MS unless a test needs it short. */
  graceMs?: number;
  /** How long a connection may wait for a place (--web.read-header-timeout; 20 s when not given). */
  readHeaderTimeoutMs?: number;
  /** Connections that may wait for a place; as many as maxConnections unless a test needs fewer. */
  maxWaiting?: number;
  /** Places kept for sources holding fewer connections than this; maxConnections / 16 (1 to 64) by default. */
  reserved?: number;
}

/** Time every connection and every request body has before its rate counts. */
const GRACE_MS = 10_000;
const SWEEP_MS = 1000;
const LOG_EVERY_MS = 10_000;
/** Slow uploads cut, or waiting connections let in, between two turns of the event loop. */
const CHUNK = 16;
/**
 * Slow uploads cut, and waiting connections closed for waiting too long, per sweep at most, as a
 * fraction of --web.max-connections (at least CHUNK): a crowd that came at once becomes due at
 * once, and each connection closed comes back, to be accepted and read again.
 */
const CUT_SHARE = 1 / 64;
const EXPIRE_SHARE = 1 / 16;
const DEFAULT_WAIT_MS = 20_000;

/** One source's connections. */
interface SourceConns {
  all: Set<Conn>;
  /** Its keep-alive connections between requests, longest idle first (a Set keeps insertion order). */
  idle: Set<Conn>;
}

interface Conn {
  /** The TCP socket (under TLS, the one beneath the TLS socket). */
  socket: Socket;
  source: string;
  of: SourceConns;
  opened: number;
  /** Responses being written on it. */
  busy: number;
  /** A request whose body is still arriving: when it started and the bytes read before it. */
  upload?: { req: IncomingMessage; res: ServerResponse; started: number; base: number };
}

/** Who counts as one client: an IPv4 address (IPv4-mapped included) or an IPv6 /64. */
export function sourceOf(address: string | undefined): string {
  if (address === undefined) return '';
  // Asked at every accept: the common shapes without a regular expression.
  if (!address.includes(':')) return address;
  if (address.startsWith('::ffff:') && address.indexOf(':', 7) < 0 && address.includes('.')) return address.slice(7);
  const plain = address.replace(/%.*$/, '');
  if (!plain.includes(':')) return plain;
  if (/^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(plain)) return plain.slice(7);
  const [head, tail] = plain.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups =
    tail === undefined ? h : [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t];
  return groups
    .slice(0, 4)
    .map((g) => parseInt(g, 16).toString(16))
    .join(':')
    .concat('::/64');
}

/** Bytes both ways per second of the connection's life, its grace period counted as a whole. */
function rate(c: Conn, now: number, grace: number): number {
  return ((c.socket.bytesRead + c.socket.bytesWritten) * 1000) / Math.max(now - c.opened, grace);
}

/** An accepted connection before Node builds a socket for it: what the guard asks of it. */
export type PeerHandle = { getpeername?: (out: { address?: string }) => number; close(): void };

/** A connection waiting for a place, unread (its request stays in the kernel's buffers). */
interface Waiting {
  handle: PeerHandle;
  since: number;
}

/** Node's TLS socket keeps the TCP socket it wraps as `_parent` (there is no public accessor). */
function tcpSocket(socket: Socket): Socket {
  return (socket as Socket & { _parent?: Socket })._parent ?? socket;
}

export class ConnectionGuard {
  private readonly conns = new Map<Socket, Conn>();
  private readonly bySource = new Map<string, SourceConns>();
  /** Keep-alive connections between requests, longest idle first (a Set keeps insertion order). */
  private readonly idle = new Set<Conn>();
  /** Connections waiting for a place, oldest first. */
  private readonly waiting = new Set<Waiting>();
  private counts = { refused: 0, evictedIdle: 0, evicted: 0, slowUploads: 0, held: 0, heldTooLong: 0 };
  private lastSource = '';
  /** Connections too slow to keep when the server is full, slowest last (made each sweep). */
  private slow: Conn[] = [];
  private lastLog = -Infinity;
  private readonly timer: NodeJS.Timeout;
  private readonly grace: number;
  private readonly maxWaiting: number;
  private readonly reserved: number;
  private readonly waitMs: number;
  /** Slow uploads due to be cut, a chunk per turn of the event loop. */
  private cuts: Conn[] = [];
  private cutting = false;
  private admitting = false;
  private closed = false;

  /**
   * @param resume hands a waiting connection on to Node (which builds its socket and emits
   *   'connection'); false when it could not (the server is closing).
   */
  constructor(
    private readonly limits: ConnectionLimits,
    private readonly log: Logger | undefined,
    private readonly resume?: (handle: PeerHandle) => boolean,
  ) {
    this.grace = limits.graceMs ?? GRACE_MS;
    this.maxWaiting = limits.maxWaiting ?? limits.maxConnections;
    this.reserved = limits.reserved ?? Math.max(1, Math.min(64, Math.floor(limits.maxConnections / 16)));
    this.waitMs = limits.readHeaderTimeoutMs ?? DEFAULT_WAIT_MS;
    this.timer = setInterval(() => this.sweep(), SWEEP_MS).unref();
  }

  /** Connections waiting for a place. */
  get waitingCount(): number {
    return this.waiting.size;
  }

  /**
   * At the accept: true when the connection goes on to Node now (there is, or was made, room);
   * otherwise the guard keeps it waiting, or closes it when the queue is full.
   */
  arrive(source: string, handle: PeerHandle): boolean {
    if (this.closed) {
      handle.close();
      return false;
    }
    const canWait = this.resume !== undefined && this.waiting.size < this.maxWaiting;
    if (this.makeRoom(source, canWait)) return true;
    if (canWait) {
      this.waiting.add({ handle, since: performance.now() });
      this.count('held', source);
    } else handle.close();
    return false;
  }

  /**
   * Makes room for a connection from `source` when the server is full; false when there is none.
   * Called as the connection is accepted, before Node builds a socket for it where possible.
   * The last `reserved` places are for sources holding fewer than that many connections: a crowd
   * from one source cannot take them, so another client's newcomer needs no place freed (a
   * close, and the crowd's member back a second later) and does not wait for one.
   */
  makeRoom(source: string, canWait = false): boolean {
    const open = this.conns.size;
    const max = this.limits.maxConnections;
    const own = this.bySource.get(source);
    const big = own !== undefined && own.all.size >= this.reserved;
    if (open < max - this.reserved || (open < max && !big)) return true;
    const victim = this.victim(own, big, canWait);
    if (victim === undefined) {
      if (!canWait) this.count('refused', source);
      return false;
    }
    this.count(this.idle.has(victim) ? 'evictedIdle' : 'evicted', victim.source);
    this.drop(victim);
    victim.socket.destroy();
    return true;
  }

  /** A new TCP connection, to be tracked; `checked` when makeRoom was asked at its accept. */
  admit(socket: Socket, checked: boolean): void {
    const source = sourceOf(socket.remoteAddress);
    if (!checked && !this.makeRoom(source)) {
      socket.destroy();
      return;
    }
    let of = this.bySource.get(source);
    if (of === undefined) this.bySource.set(source, (of = { all: new Set(), idle: new Set() }));
    const c: Conn = { socket, source, of, opened: performance.now(), busy: 0 };
    this.conns.set(socket, c);
    of.all.add(c);
    // A place freed by the client or a cut goes to the longest waiting; one freed by makeRoom
    // (dropped there already) to the newcomer it was made for.
    socket.once('close', () => {
      if (this.drop(c) && this.waiting.size > 0) this.admitWaiting();
    });
  }

  /** A request on a tracked connection: busy until answered; its body watched until it ends. */
  request(req: IncomingMessage, res: ServerResponse): void {
    const c = this.conns.get(tcpSocket(req.socket));
    if (c === undefined) return;
    const now = performance.now();
    c.busy++;
    if (this.idle.delete(c)) c.of.idle.delete(c);
    // Node emits the request before it knows the body is empty: the headers say whether one comes.
    const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
    if (hasBody && !req.complete) {
      const upload = { req, res, started: now, base: c.socket.bytesRead };
      c.upload = upload;
      const done = () => {
        if (c.upload === upload) c.upload = undefined;
      };
      req.once('end', done);
      req.once('close', done);
    }
    res.once('close', () => {
      c.busy--;
      if (c.busy === 0 && this.conns.has(c.socket) && !c.socket.destroyed) {
        this.idle.add(c);
        c.of.idle.add(c);
      }
    });
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    for (const w of this.waiting) w.handle.close();
    this.waiting.clear();
    this.flush(performance.now());
  }

  /** Whether `c` was tracked (and is no more). */
  private drop(c: Conn): boolean {
    if (!this.conns.delete(c.socket)) return false;
    this.idle.delete(c);
    c.of.idle.delete(c);
    c.of.all.delete(c);
    if (c.of.all.size === 0) this.bySource.delete(c.source);
    return true;
  }

  /** Lets the longest waiting in while there is room, a chunk per turn of the event loop. */
  private admitWaiting(): void {
    if (this.admitting) return;
    this.admitting = true;
    setImmediate(() => {
      this.admitting = false;
      let n = 0;
      for (const w of this.waiting) {
        if (n === CHUNK || this.conns.size >= this.limits.maxConnections - this.reserved) break;
        this.waiting.delete(w);
        if (this.resume?.(w.handle) !== true) w.handle.close();
        n++;
      }
      if (n === CHUNK && this.waiting.size > 0) this.admitWaiting();
    });
  }

  /**
   * Whose place a newcomer takes, its source holding `own` (`big`: too many for the reserve).
   * A big source's newcomer takes no other source's idle connection (a crowd would close every
   * other client's keep-alive connection as soon as it is idle) and, when it can wait, no slow
   * one: places freed by cuts go to the longest waiting, whereas closing a connection for it
   * would bring that one back a second later for the next, and a crowd would cycle through its
   * own places.
   */
  private victim(own: SourceConns | undefined, big: boolean, canWait: boolean): Conn | undefined {
    for (const c of big ? own!.idle : this.idle) return c;
    let biggest: Set<Conn> | undefined;
    for (const of of this.bySource.values()) if (biggest === undefined || of.all.size > biggest.size) biggest = of.all;
    if (biggest !== undefined && biggest.size > (own?.all.size ?? 0) + 1)
      return slowest(biggest, performance.now(), this.grace);
    if (big && canWait) return undefined;
    // Else only a connection that is too slow yields, from the list the last sweep made (no scan
    // per newcomer: a crowd reconnecting is refused cheaply).
    for (let c = this.slow.pop(); c !== undefined; c = this.slow.pop()) if (this.conns.has(c.socket)) return c;
    return undefined;
  }

  /**
   * Finds request bodies arriving slower than the minimum rate (cut a chunk at a time), lists the
   * connections older than the grace period whose rate is below it (slowest last), closes those
   * that waited for a place too long, and logs what was counted.
   */
  private sweep(): void {
    const now = performance.now();
    const slow: Array<[Conn, number]> = [];
    const cuts: Conn[] = [];
    const maxCuts = Math.max(CHUNK, Math.ceil(this.limits.maxConnections * CUT_SHARE));
    for (const c of this.conns.values()) {
      if (now - c.opened >= this.grace) {
        const r = rate(c, now, this.grace);
        if (r < this.limits.minUploadRate) slow.push([c, r]);
      }
      const u = c.upload;
      if (u === undefined || now - u.started < this.grace || cuts.length === maxCuts) continue;
      if (u.req.complete) {
        c.upload = undefined;
        continue;
      }
      // The body handlers read as data arrives: bytes not read yet are the client's, not ours.
      const received = c.socket.bytesRead - u.base;
      if (received < (this.limits.minUploadRate * (now - u.started - this.grace)) / 1000) cuts.push(c);
    }
    this.slow = slow.sort((a, b) => b[1] - a[1] || b[0].opened - a[0].opened).map(([c]) => c);
    let expire = Math.max(CHUNK, Math.ceil(this.maxWaiting * EXPIRE_SHARE));
    for (const w of this.waiting) {
      if (now - w.since < this.waitMs || expire-- === 0) break;
      this.waiting.delete(w);
      w.handle.close();
      this.count('heldTooLong', '');
    }
    this.cuts = cuts;
    if (!this.cutting && cuts.length > 0) this.cutSome();
    this.flush(now);
  }

  /** Cuts a chunk of the slow uploads the sweep found, then gives the event loop a turn. */
  private cutSome(): void {
    this.cutting = true;
    setImmediate(() => {
      this.cutting = false;
      for (const c of this.cuts.splice(0, CHUNK)) {
        const u = c.upload;
        if (u === undefined || !this.conns.has(c.socket)) continue;
        c.upload = undefined;
        if (u.req.complete) continue; // its last bytes came since the sweep
        this.count('slowUploads', c.source);
        if (u.res.headersSent) {
          c.socket.destroy();
          continue;
        }
        const message =
          `the request body arrived slower than ${this.limits.minUploadRate} bytes/s ` +
          `after its first ${this.grace / 1000} s (--web.min-upload-rate)\n`;
        u.res.writeHead(408, { 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close' });
        u.res.end(message, () => c.socket.destroy());
      }
      if (this.cuts.length > 0) this.cutSome();
    });
  }

  private count(what: keyof ConnectionGuard['counts'], source: string): void {
    this.counts[what]++;
    if (source !== '') this.lastSource = source;
    const now = performance.now();
    if (now - this.lastLog >= LOG_EVERY_MS) this.flush(now);
  }

  private flush(now: number): void {
    const { refused, evictedIdle, evicted, slowUploads, held, heldTooLong } = this.counts;
    const total = refused + evictedIdle + evicted + slowUploads + held + heldTooLong;
    if (total === 0 || now - this.lastLog < LOG_EVERY_MS) return;
    this.log?.warn(
      {
        refused,
        closed_idle: evictedIdle,
        closed_slowest: evicted,
        slow_uploads_cut: slowUploads,
        held_waiting: held,
        closed_waiting_too_long: heldTooLong,
        open: this.conns.size,
        waiting: this.waiting.size,
        max_connections: this.limits.maxConnections,
        last_source: this.lastSource,
      },
      `connections held, refused or closed to keep --web.max-connections and --web.min-upload-rate` +
        (this.lastLog === -Infinity ? '' : ` in the last ${Math.round((now - this.lastLog) / 1000)} s`),
    );
    this.lastLog = now;
    this.counts = { refused: 0, evictedIdle: 0, evicted: 0, slowUploads: 0, held: 0, heldTooLong: 0 };
  }
}

/** The connection with the lowest rate; the oldest on a tie. */
function slowest(conns: Iterable<Conn>, now: number, grace: number): Conn | undefined {
  let worst: Conn | undefined;
  let worstRate = Infinity;
  for (const c of conns) {
    const r = rate(c, now, grace);
    if (r < worstRate || (r === worstRate && worst !== undefined && c.opened < worst.opened)) {
      worst = c;
      worstRate = r;
    }
  }
  return worst;
}

/** Decides at the accept about addresses shut out for other reasons (sourcegate.ts: password guessing). */
export interface AcceptGate {
  /** Seconds `source` is shut out for; 0 lets it in. */
  shutOut(source: string): number;
  /** Answers (or, under TLS, closes) an accepted connection from a shut-out address. */
  refuse(handle: PeerHandle, seconds: number, tls: boolean): void;
  close(): void;
}

type AcceptHandle = { onconnection?: (err: number, client?: PeerHandle) => void };

/**
 * Puts the guard in front of a server's connections and requests, in place of Node's
 * maxConnections. Once listening, the guard decides at the accept itself, on the peer's address,
 * as Node's maxConnections does (it wraps the listening handle's `onconnection`, which Node has no
 * public hook for): a refused connection then costs a close, and a waiting one nothing, not a
 * socket, an HTTP parser and their teardown, so a crowd cannot keep the event loop busy. Without
 * that handle, the guard decides on the 'connection' event (and nobody waits). `gate` is asked
 * first, at the same place, about addresses shut out for other reasons.
 */
export function guardConnections(
  server: Server | HttpsServer,
  limits: ConnectionLimits,
  log?: Logger,
  gate?: AcceptGate,
): ConnectionGuard {
  const tls = server instanceof TlsServer;
  let listening: { handle: AcceptHandle; accept: NonNullable<AcceptHandle['onconnection']> } | undefined;
  const resume = (client: PeerHandle): boolean => {
    if (listening === undefined || !server.listening) return false;
    listening.accept.call(listening.handle, 0, client);
    return true;
  };
  const guard = new ConnectionGuard(limits, log, resume);
  server.on('listening', () => {
    const handle = (server as unknown as { _handle?: AcceptHandle })._handle;
    const accept = handle?.onconnection;
    if (handle === undefined || typeof accept !== 'function') return;
    listening = { handle, accept };
    handle.onconnection = function (this: AcceptHandle, err: number, client?: PeerHandle) {
      if (!err && client?.getpeername !== undefined) {
        const peer: { address?: string } = {};
        client.getpeername(peer);
        const source = sourceOf(peer.address);
        const shutOut = gate?.shutOut(source) ?? 0;
        if (shutOut > 0) {
          gate!.refuse(client, shutOut, tls);
          return;
        }
        if (!guard.arrive(source, client)) return;
      }
      accept.call(this, err, client);
    };
  });
  server.on('connection', (socket: Socket) => guard.admit(socket, listening !== undefined));
  server.on('request', (req: IncomingMessage, res: ServerResponse) => guard.request(req, res));
  server.on('close', () => {
    guard.close();
    gate?.close();
  });
  return guard;
}
