// Who may hold the gateway's connections. Node's own `maxConnections` refuses whoever comes last,
// so a few hundred clients sending nothing (slowloris) lock everyone else out until they time
// out. Here, at --web.max-connections, a newcomer takes the place of the connection that matters
// least: a keep-alive connection idle the longest; else the slowest connection of the source
// (IP address, IPv6 /64) holding the most connections, when that source holds more than the
// newcomer's would; else the slowest connection anywhere that has sent less than
// --web.min-upload-rate since it opened, once past the grace period. Only when none qualifies is
// the newcomer refused. Apart from the cap, a request body arriving slower than
// --web.min-upload-rate after the grace period is answered 408 and its connection closed.
// Refusals and closings are logged at most once per LOG_EVERY_MS, with their counts.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';

export interface ConnectionLimits {
  maxConnections: number;
  /** Bytes per second a request body must average once past the grace period. */
  minUploadRate: number;
  /** The grace period; GRACE_MS unless a test needs it short. */
  graceMs?: number;
}

/** Time every connection and every request body has before its rate counts. */
const GRACE_MS = 10_000;
const SWEEP_MS = 1000;
const LOG_EVERY_MS = 10_000;

interface Conn {
  /** The TCP socket (under TLS, the one beneath the TLS socket). */
  socket: Socket;
  source: string;
  opened: number;
  /** Responses being written on it. */
  busy: number;
  /** A request whose body is still arriving: when it started and the bytes read before it. */
  upload?: { req: IncomingMessage; res: ServerResponse; started: number; base: number };
}

/** Who counts as one client: an IPv4 address (IPv4-mapped included) or an IPv6 /64. */
export function sourceOf(address: string | undefined): string {
  if (address === undefined) return '';
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

/** Node's TLS socket keeps the TCP socket it wraps as `_parent` (there is no public accessor). */
function tcpSocket(socket: Socket): Socket {
  return (socket as Socket & { _parent?: Socket })._parent ?? socket;
}

export class ConnectionGuard {
  private readonly conns = new Map<Socket, Conn>();
  private readonly bySource = new Map<string, Set<Conn>>();
  /** Keep-alive connections between requests, longest idle first (a Set keeps insertion order). */
  private readonly idle = new Set<Conn>();
  private counts = { refused: 0, evictedIdle: 0, evicted: 0, slowUploads: 0 };
  private lastSource = '';
  /** Connections too slow to keep when the server is full, slowest last (made each sweep). */
  private slow: Conn[] = [];
  private lastLog = -Infinity;
  private readonly timer: NodeJS.Timeout;
  private readonly grace: number;

  constructor(
    private readonly limits: ConnectionLimits,
    private readonly log: Logger | undefined,
  ) {
    this.grace = limits.graceMs ?? GRACE_MS;
    this.timer = setInterval(() => this.sweep(), SWEEP_MS).unref();
  }

  /**
   * Makes room for a connection from `source` when the server is full; false when there is none.
   * Called as the connection is accepted, before Node builds a socket for it where possible.
   */
  makeRoom(source: string): boolean {
    if (this.conns.size < this.limits.maxConnections) return true;
    const victim = this.victim(source, performance.now());
    if (victim === undefined) {
      this.count('refused', source);
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
    const c: Conn = { socket, source, opened: performance.now(), busy: 0 };
    this.conns.set(socket, c);
    let set = this.bySource.get(source);
    if (set === undefined) this.bySource.set(source, (set = new Set()));
    set.add(c);
    socket.once('close', () => this.drop(c));
  }

  /** A request on a tracked connection: busy until answered; its body watched until it ends. */
  request(req: IncomingMessage, res: ServerResponse): void {
    const c = this.conns.get(tcpSocket(req.socket));
    if (c === undefined) return;
    const now = performance.now();
    c.busy++;
    this.idle.delete(c);
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
      if (c.busy === 0 && this.conns.has(c.socket) && !c.socket.destroyed) this.idle.add(c);
    });
  }

  close(): void {
    clearInterval(this.timer);
    this.flush(performance.now());
  }

  private drop(c: Conn): void {
    if (!this.conns.delete(c.socket)) return;
    this.idle.delete(c);
    const set = this.bySource.get(c.source);
    set?.delete(c);
    if (set?.size === 0) this.bySource.delete(c.source);
  }

  private victim(source: string, now: number): Conn | undefined {
    for (const c of this.idle) return c;
    let biggest: Set<Conn> | undefined;
    for (const set of this.bySource.values()) if (biggest === undefined || set.size > biggest.size) biggest = set;
    const own = this.bySource.get(source)?.size ?? 0;
    if (biggest !== undefined && biggest.size > own + 1) return slowest(biggest, now, this.grace);
    // The newcomer's source is (one of) the biggest: only a connection that is too slow yields,
    // from the list the last sweep made (no scan per newcomer: a crowd reconnecting is refused cheaply).
    for (let c = this.slow.pop(); c !== undefined; c = this.slow.pop()) if (this.conns.has(c.socket)) return c;
    return undefined;
  }

  /**
   * Cuts request bodies arriving slower than the minimum rate, lists the connections older than
   * the grace period whose rate is below it (slowest last), and logs what was counted.
   */
  private sweep(): void {
    const now = performance.now();
    const slow: Array<[Conn, number]> = [];
    for (const c of this.conns.values()) {
      if (now - c.opened >= this.grace) {
        const r = rate(c, now, this.grace);
        if (r < this.limits.minUploadRate) slow.push([c, r]);
      }
      const u = c.upload;
      if (u === undefined || now - u.started < this.grace) continue;
      if (u.req.complete) {
        c.upload = undefined;
        continue;
      }
      // The body handlers read as data arrives: bytes not read yet are the client's, not ours.
      const received = c.socket.bytesRead - u.base;
      if (received >= (this.limits.minUploadRate * (now - u.started - this.grace)) / 1000) continue;
      this.count('slowUploads', c.source);
      c.upload = undefined;
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
    this.slow = slow.sort((a, b) => b[1] - a[1] || b[0].opened - a[0].opened).map(([c]) => c);
    this.flush(now);
  }

  private count(what: keyof ConnectionGuard['counts'], source: string): void {
    this.counts[what]++;
    this.lastSource = source;
    const now = performance.now();
    if (now - this.lastLog >= LOG_EVERY_MS) this.flush(now);
  }

  private flush(now: number): void {
    const { refused, evictedIdle, evicted, slowUploads } = this.counts;
    if (refused + evictedIdle + evicted + slowUploads === 0 || now - this.lastLog < LOG_EVERY_MS) return;
    this.log?.warn(
      {
        refused,
        closed_idle: evictedIdle,
        closed_slowest: evicted,
        slow_uploads_cut: slowUploads,
        open: this.conns.size,
        max_connections: this.limits.maxConnections,
        last_source: this.lastSource,
      },
      `connections refused or closed to keep --web.max-connections and --web.min-upload-rate` +
        (this.lastLog === -Infinity ? '' : ` in the last ${Math.round((now - this.lastLog) / 1000)} s`),
    );
    this.lastLog = now;
    this.counts = { refused: 0, evictedIdle: 0, evicted: 0, slowUploads: 0 };
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

type AcceptHandle = { onconnection?: (err: number, client?: PeerHandle) => void };
type PeerHandle = { getpeername?: (out: { address?: string }) => number; close(): void };

/**
 * Puts the guard in front of a server's connections and requests, in place of Node's
 * maxConnections. Once listening, the guard decides at the accept itself, on the peer's address,
 * as Node's maxConnections does (it wraps the listening handle's `onconnection`, which Node has no
 * public hook for): a refused connection then costs a close, not a socket, an HTTP parser and
 * their teardown, so a crowd reconnecting cannot keep the event loop busy. Without that handle,
 * the guard decides on the 'connection' event.
 */
export function guardConnections(
  server: Server | HttpsServer,
  limits: ConnectionLimits,
  log?: Logger,
): ConnectionGuard {
  const guard = new ConnectionGuard(limits, log);
  let atAccept = false;
  server.on('listening', () => {
    const handle = (server as unknown as { _handle?: AcceptHandle })._handle;
    const accept = handle?.onconnection;
    if (handle === undefined || typeof accept !== 'function') return;
    atAccept = true;
    handle.onconnection = function (this: AcceptHandle, err: number, client?: PeerHandle) {
      if (!err && client?.getpeername !== undefined) {
        const peer: { address?: string } = {};
        client.getpeername(peer);
        if (!guard.makeRoom(sourceOf(peer.address))) {
          client.close();
          return;
        }
      }
      accept.call(this, err, client);
    };
  });
  server.on('connection', (socket: Socket) => guard.admit(socket, atAccept));
  server.on('request', (req: IncomingMessage, res: ServerResponse) => guard.request(req, res));
  server.on('close', () => guard.close());
  return guard;
}
