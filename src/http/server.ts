// Routing, as the reference's router answers: same paths, methods, status codes and bodies.
import {
  createServer,
  ServerResponse,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerOptions,
} from 'node:http';
import type { Socket } from 'node:net';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { metricsResponse, statusResponse } from '../expose/json.js';
import { ScrapeCache } from '../expose/scrape.js';
import { textBytes } from '../lib/gostring.js';
import { negotiate } from '../expose/negotiate.js';
import { escapeFamily, familyTextQuoted } from '../expose/text.js';
import { encodeProtobufDelimited } from '../expose/protobuf.js';
import { renderOpenMetrics } from '../expose/openmetrics.js';
import { gatherSelf, type BuildInfo, type SelfMetrics } from '../selfmetrics.js';
import type { MetricStore } from '../store/types.js';
import { createUi } from '../ui/index.js';
import { parseGroupingKey } from './groupingkey.js';
import { createPushHandlers } from './push.js';
import { sendFailure } from './errors.js';
import { GzipCache, streamBody, type FamilyParts } from './stream.js';
import { guardConnections, type AcceptGate } from './connections.js';
import { sendError, sendText } from './respond.js';
import { createGroupSelection, hasMatch, MATCH } from './admingroups.js';
import { allows, checkAccess, credentialText, grantOf, type Action } from './permissions.js';
import type { AuditEvent, AuditLog } from './audit.js';
import type { GroupingLabels } from '../store/types.js';

export interface GatewayDeps {
  config: Config;
  store: MetricStore;
  self: SelfMetrics;
  build: BuildInfo;
  log: Logger;
  startMs: number;
  /** Called on an allowed /-/quit, after the answer is sent. */
  quit: () => void;
  /** --log.audit. */
  audit?: AuditLog;
}

/** Requests that change groups, by their name in pushgateway_http_requests_total: what --log.audit logs. */
const AUDITED: Partial<Record<string, AuditEvent>> = {
  push: 'push',
  delete: 'delete',
  wipe: 'wipe',
  'api/v1/admin/groups': 'delete_by_match',
};

const CORS: Record<string, string> = {
  'Access-Control-Allow-Headers': 'Accept, Authorization, Content-Type, Origin',
  'Access-Control-Allow-Methods': 'GET, POST, DELETE, OPTIONS',
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Expose-Headers': 'Date',
  'Cache-Control': 'no-cache, no-store, must-revalidate',
};

type Handler = (req: IncomingMessage, res: ServerResponse, rest: string) => number | Promise<number>;
interface Route {
  /** Path relative to the route prefix; a trailing '*' matches any remainder. */
  path: string;
  methods: Partial<Record<string, Handler>>;
  /** Name in pushgateway_http_requests_total; none for scrapes. */
  name?: string;
  /** For '*' routes: which remainders belong to the route. */
  accepts?: (rest: string) => boolean;
  /**
   * What a credential must be allowed (web config `authorization`): read unless said; 'none' for
   * the probes; pushes and deletes of a group are checked with their grouping key.
   */
  action?: Action | 'none';
}

function joinPath(prefix: string, p: string): string {
  const joined = (prefix + '/' + p).replace(/\/+/g, '/');
  return joined.length > 1 && joined.endsWith('/') ? joined.slice(0, -1) : joined;
}

/** The gateway: one request listener for every server it listens on, and what it holds. */
export interface Gateway {
  handler: RequestListener;
  /** Lets go of the store (subscriptions, background work); the store itself stays open. */
  close(): void;
}

/** Built once per process: one scrape cache and one view of the store, whatever the addresses. */
export function createGateway(deps: GatewayDeps): Gateway {
  const { config, store, self, log } = deps;
  const prefix = config.routePrefix;
  const scrape = new ScrapeCache(store);
  scrape.warmUp();
  const pushes = createPushHandlers({
    store,
    check: !config.disableConsistencyCheck,
    limits: config.limits,
    log,
    utf8Names: config.utf8Names,
  });
  const ui = createUi({
    store,
    config,
    build: deps.build,
    startMs: deps.startMs,
    access: (req) => {
      const grant = grantOf(req);
      if (grant === undefined) return undefined;
      return {
        credential: credentialText(grant.credential),
        mayDelete: (labels) => allows(grant.rule, 'delete', labels),
        mayWipe: grant.rule.actions.has('admin'),
      };
    },
  });
  const { audit } = deps;
  /** The grouping key of a push or delete, for its audit line. */
  const auditedGroup = new WeakMap<IncomingMessage, GroupingLabels>();
  const stopAudit = audit?.followExpiry(store);

  // Probes ask the store: a store that cannot take writes is not healthy, one still restoring not ready.
  const healthy: Handler = (_req, res) => {
    const h = store.health();
    return h.healthy ? sendText(res, 200, 'OK') : sendText(res, 503, `${h.reason ?? 'the store is not healthy'}\n`);
  };
  const ready: Handler = (_req, res) => {
    const h = store.health();
    return h.ready ? sendText(res, 200, 'OK') : sendText(res, 503, `${h.reason ?? 'the store is not ready'}\n`);
  };

  const gzipKept = { text: new GzipCache(), protobuf: new GzipCache(), openmetrics: new GzipCache() };
  const scrapeHandler: Handler = async (req, res) => {
    const own = await gatherSelf(self);
    const { format, contentType, escaping } = negotiate(req.headers.accept, config.enableOpenMetrics);
    let body: FamilyParts;
    let type = contentType;
    if (config.utf8Names) {
      // Pushgateway 1.11: names escaped as the Accept header's `escaping` asks (underscores by
      // default), quoted where not classic with allow-utf-8; the Content-Type says which.
      const families = scrape.families(own).map((mf) => escapeFamily(mf, escaping));
      body = [
        {
          parts: [
            format === 'protobuf'
              ? encodeProtobufDelimited(families)
              : format === 'openmetrics'
                ? textBytes(renderOpenMetrics(families))
                : textBytes(families.map((mf) => familyTextQuoted(mf)).join('')),
          ],
        },
      ];
      type = `${contentType}; escaping=${escaping}`;
    } else {
      let gone = false;
      res.once('close', () => (gone = true));
      // Scrapes are not counted in pushgateway_http_requests_total: the status is not shown.
      if (!(await scrape.prepare(format, () => gone))) return 499;
      body = scrape.familyParts(format, own);
    }
    const acceptsGzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    const sent = scrape.hold(body);
    try {
      await streamBody(res, body, { 'Content-Type': type }, acceptsGzip ? gzipKept[format] : undefined);
    } finally {
      sent();
    }
    return 200;
  };

  const pushHandler =
    (mode: 'put' | 'post' | 'delete'): Handler =>
    (req, res, rest) => {
      // rest: "/<job>{/<label>/<value>}" or "@base64/<job>..."
      const base64 = rest.startsWith('@base64/');
      const tail = base64 ? rest.slice('@base64'.length) : rest;
      const segments = tail.slice(1).split('/');
      const rawJob = segments[0];
      const rawLabels = segments.length === 2 && segments[1] === '' ? [] : segments.slice(1);
      const key = parseGroupingKey(base64, rawJob, rawLabels, { utf8Names: config.utf8Names });
      if (!key.ok) {
        log.debug({ url: req.url, err: key.message }, 'failed to parse URL');
        return sendError(res, 400, key.message);
      }
      // A weak map entry per request costs the collector too: kept only when there is an audit log.
      if (audit !== undefined) auditedGroup.set(req, key.labels);
      checkAccess(req, mode === 'delete' ? 'delete' : 'push', key.labels);
      if (mode === 'delete') return pushes.remove(res, key.labels);
      return pushes.push(req, res, key.labels, mode === 'put');
    };

  const withCors =
    (h: Handler): Handler =>
    (req, res, rest) => {
      for (const [k, v] of Object.entries(CORS)) res.setHeader(k, v);
      return h(req, res, rest);
    };

  const quitAllowed: Handler = (_req, res) => {
    sendText(res, 200, 'Requesting termination... Goodbye!');
    setImmediate(deps.quit);
    return 200;
  };
  const quitForbidden: Handler = (_req, res) => sendText(res, 403, 'Lifecycle API is not enabled.');
  const quit = config.enableLifecycle ? quitAllowed : quitForbidden;

  const routes: Route[] = [
    { path: joinPath(prefix, '/-/healthy'), methods: { GET: healthy }, name: 'healthy', action: 'none' },
    { path: joinPath(prefix, '/-/ready'), methods: { GET: ready }, name: 'ready', action: 'none' },
    { path: joinPath(prefix, config.telemetryPath), methods: { GET: scrapeHandler } },
    {
      path: joinPath(prefix, '/metrics/job') + '*',
      methods: { PUT: pushHandler('put'), POST: pushHandler('post'), DELETE: pushHandler('delete') },
      accepts: (rest) => /^(@base64)?\/[^/]/.test(rest),
    },
    { path: joinPath(prefix, '/status'), methods: { GET: ui.status }, name: 'status' },
    // The page lives at <prefix>/ (a bare /pfx redirects there, as in the reference).
    { path: prefix + '/', methods: { GET: ui.page }, name: 'status' },
    {
      path: joinPath(prefix, '/static') + '*',
      methods: { GET: ui.asset },
      name: 'static',
      accepts: (rest) => /^\/[^/]/.test(rest),
    },
    { path: joinPath(prefix, '/-/quit'), methods: { PUT: quit, POST: quit }, action: 'admin' },
    {
      path: '/-/quit',
      methods: { GET: (_q, res) => sendText(res, 405, 'Only POST or PUT requests allowed.') },
      action: 'none',
    },
  ];
  const api = joinPath(prefix, '/api/v1');
  const selection = createGroupSelection(store, log, config.enableAdminApi);
  const apiRoutes: Route[] = [
    {
      path: api + '/status',
      methods: {
        GET: withCors((_q, res) =>
          sendText(res, 200, statusResponse(config.flags, deps.startMs, { ...deps.build }), 'application/json'),
        ),
      },
      name: 'api/v1/status',
    },
    {
      path: api + '/metrics',
      methods: {
        GET: withCors((_q, res) =>
          sendText(res, 200, metricsResponse(store.groups(), store.expiry), 'application/json'),
        ),
      },
      name: 'api/v1/metrics',
    },
    {
      path: api + '/groups',
      methods: { GET: (req, res, rest) => (hasMatch(req) ? selection.list(req, res) : ui.groups(req, res, rest)) },
      name: 'api/v1/groups',
    },
  ];
  if (config.enableAdminApi) {
    apiRoutes.push({
      path: api + '/admin/groups',
      methods: { DELETE: selection.remove },
      name: 'api/v1/admin/groups',
      action: 'admin',
    });
    apiRoutes.push({
      path: api + '/admin/wipe',
      methods: {
        PUT: async (_q, res) => {
          await store.wipe();
          res.writeHead(202, { 'Content-Length': '0' });
          res.end();
          return 202;
        },
      },
      name: 'wipe',
      action: 'admin',
    });
  }
  const preflight: Handler = (_q, res) => {
    res.writeHead(200, { 'Content-Length': '0' });
    res.end();
    return 200;
  };
  apiRoutes.push({ path: api + '/*', methods: { OPTIONS: withCors(preflight) }, name: 'api/v1/options' });

  function match(path: string, routes: Route[]): Array<{ route: Route; rest: string }> {
    const out: Array<{ route: Route; rest: string }> = [];
    for (const route of routes) {
      if (route.path.endsWith('*')) {
        const base = route.path.slice(0, -1);
        const rest = path.slice(base.length);
        if (path.startsWith(base) && rest !== '' && (route.accepts?.(rest) ?? true)) out.push({ route, rest });
      } else if (path === route.path) out.push({ route, rest: '' });
    }
    return out;
  }

  const routeFor = (path: string) => {
    const table = path === api || path.startsWith(api + '/') ? apiRoutes : routes;
    return match(path, table);
  };
  const pushJobRoot = joinPath(prefix, '/metrics/job') + '/';
  const pushRoute = pushJobRoot.slice(0, -1) + '*';

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const query = q < 0 ? '' : url.slice(q);
    const method = req.method ?? 'GET';
    // Go's server refuses a malformed escape before routing.
    if (path.includes('%') && /%(?![0-9a-fA-F]{2})/.test(path)) {
      res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8', Connection: 'close' });
      res.end('400 Bad Request');
      return;
    }
    // Go's ServeMux answers every unclean path with a redirect to the clean one, and the API's
    // mount point without its slash with a redirect to it.
    const clean = cleanPath(path);
    if (clean !== path || path === api) {
      redirect(res, method, 301, (path === api ? api + '/' : clean) + query);
      return;
    }
    const candidates = routeFor(path);
    const hit = candidates.find((c) => c.route.methods[method] !== undefined);
    if (hit === undefined) {
      // The router's trailing-slash redirect: 301 for GET, 307 otherwise.
      const other = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path + '/';
      const quirk = path === pushJobRoot && method !== 'GET';
      if (quirk || routeFor(other).some((c) => c.route.methods[method] !== undefined)) {
        redirect(res, method, method === 'GET' ? 301 : 307, other + query);
        return;
      }
      const allowed = [...new Set(candidates.flatMap((c) => Object.keys(c.route.methods)))].filter(
        (m) => m !== 'OPTIONS',
      );
      if (allowed.length === 0) {
        sendError(res, 404, '404 page not found');
        return;
      }
      res.setHeader('Allow', [...allowed, 'OPTIONS'].sort().join(', '));
      if (method === 'OPTIONS') {
        res.writeHead(200, { 'Content-Length': '0' });
        res.end();
        return;
      }
      sendError(res, 405, 'Method Not Allowed');
      return;
    }
    const isPushPath = hit.route.path === pushRoute;
    const isPush = isPushPath && method !== 'DELETE';
    const started = performance.now();
    let status: number;
    try {
      // Checked on what the request resolved to, so no spelling of its path takes another action.
      const action = hit.route.action ?? 'read';
      if (!isPushPath && action !== 'none') checkAccess(req, action);
      status = await hit.route.methods[method]!(req, res, hit.rest);
    } catch (err) {
      status = sendFailure(res, err, log, req.url);
    }
    const name = isPush ? 'push' : isPushPath ? 'delete' : hit.route.name;
    if (audit !== undefined) {
      const event = name === undefined ? undefined : AUDITED[name];
      if (event === 'delete_by_match')
        audit.change(req, event, undefined, status, { match: new URLSearchParams(query).getAll(MATCH) });
      else if (event !== undefined) audit.change(req, event, auditedGroup.get(req), status);
    }
    if (name !== undefined) self.countRequest(status, name, method.toLowerCase());
    if (isPush) {
      self.observePush(method.toLowerCase(), (performance.now() - started) / 1000, approximateRequestSize(req));
    }
  }

  return {
    handler: (req, res) => {
      handle(req, res).catch((err: unknown) => sendFailure(res, err, log, req.url));
    },
    close: () => {
      stopAudit?.();
      scrape.close();
      ui.close();
    },
  };
}

/** The probes' paths, which --web.probes-without-auth opens: exactly these, no other spelling. */
export function probePaths(routePrefix: string): ReadonlySet<string> {
  return new Set([joinPath(routePrefix, '/-/healthy'), joinPath(routePrefix, '/-/ready')]);
}

/** Answers requests Node's parser refused; a raw non-ASCII path (Go accepts it) gets a reason. */
export function answerClientErrors(server: Server | HttpsServer): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    const [status, message] =
      err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [
            '408 Request Timeout',
            'the request was not received in time (--web.read-header-timeout, --web.read-timeout)\n',
          ]
        : err.code === 'HPE_INVALID_URL'
          ? [
              '400 Bad Request',
              'invalid characters in the request path: percent-encode non-ASCII bytes (or use @base64 for grouping values)\n',
            ]
          : ['400 Bad Request', '400 Bad Request'];
    socket.end(
      `HTTP/1.1 ${status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(message)}\r\nConnection: close\r\n\r\n${message}`,
    );
  });
}

/**
 * Node's parser takes a request line without a version (or `HTTP/0.9`) as HTTP/0.9, and any
 * major version; Go answers 400 to the first and 505 to versions it does not speak.
 */
function refuseOldVersions(listener: RequestListener): RequestListener {
  return (req, res) => {
    if (req.httpVersionMajor === 1) return listener(req, res);
    const status =
      req.httpVersionMajor === 0 ? '400 Bad Request' : '505 HTTP Version Not Supported: unsupported protocol version';
    req.socket.end(
      `HTTP/1.1 ${status}\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n${status}`,
    );
  };
}

/** How often Node looks for connections past their header or request timeout. */
export function checkingInterval(web: Config['web']): number {
  return Math.max(100, Math.min(30_000, Math.floor(web.readHeaderTimeoutMs / 4)));
}

/**
 * What every server of the gateway (HTTP or HTTPS) needs besides its listener: bounds on
 * connections against slow or numerous clients (slowloris), answers to requests Node's parser
 * refused, and to CONNECT, which Node hands to a 'connect' listener and would otherwise drop
 * (the reference routes it like any method: 405 on a known path, 404 elsewhere).
 */
function prepareServer(
  server: Server | HttpsServer,
  web: Config['web'],
  listener: RequestListener,
  log: Logger | undefined,
  gate: AcceptGate | undefined,
): void {
  guardConnections(server, web, log, gate);
  server.headersTimeout = web.readHeaderTimeoutMs;
  server.requestTimeout = web.readTimeoutMs;
  server.keepAliveTimeout = web.idleTimeoutMs;
  answerClientErrors(server);
  server.on('connect', (req: IncomingMessage, socket: Socket) => {
    const res = new ServerResponse(req);
    res.assignSocket(socket);
    res.shouldKeepAlive = false;
    res.on('finish', () => {
      res.detachSocket(socket);
      socket.end();
    });
    listener(req, res);
  });
}

/** Makes the server object: node:http's by default, node:https's (or another) for TLS. */
export type ServerMaker = (options: ServerOptions, listener: RequestListener) => Server | HttpsServer;

/**
 * Every server of the gateway, plain or TLS, gets its timeouts and limits here, whatever
 * address it listens on; `gate` (the web config's) answers addresses blocked for guessing passwords.
 */
export function createGatewayServer(
  listener: RequestListener,
  web: Config['web'],
  make: ServerMaker = createServer,
  log?: Logger,
  gate?: AcceptGate,
): Server | HttpsServer {
  const checked = refuseOldVersions(listener);
  const server = make(
    { connectionsCheckingInterval: checkingInterval(web), keepAliveTimeout: web.idleTimeoutMs },
    checked,
  );
  prepareServer(server, web, checked, log, gate);
  return server;
}

/** Go's path cleaning as ServeMux applies it: no empty, '.' or '..' segments; a trailing '/' kept. */
export function cleanPath(p: string): string {
  if (p === '') return '/';
  if (!p.includes('//') && !p.includes('/.')) return p;
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  let cleaned = '/' + out.join('/');
  if (p.endsWith('/') && cleaned !== '/') cleaned += '/';
  return cleaned;
}

/** Go's http.Redirect: a small HTML body for GET and HEAD only. */
function redirect(res: ServerResponse, method: string, status: number, location: string): void {
  res.setHeader('Location', location);
  if (method === 'GET' || method === 'HEAD') {
    const body = `<a href="${location.replace(/&/g, '&amp;').replace(/"/g, '&#34;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&#39;')}">${status === 301 ? 'Moved Permanently' : 'Temporary Redirect'}</a>.\n\n`;
    sendText(res, status, body, 'text/html; charset=utf-8');
    return;
  }
  res.writeHead(status, { 'Content-Length': '0' });
  res.end();
}

/** The request size client_golang's instrumentation reports: URL, method, proto, headers, host, body. */
function approximateRequestSize(req: IncomingMessage): number {
  let size = (req.url ?? '').length + (req.method ?? '').length + `HTTP/${req.httpVersion}`.length;
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i].toLowerCase() === 'host') continue;
    size += req.rawHeaders[i].length + req.rawHeaders[i + 1].length;
  }
  size += (req.headers.host ?? '').length;
  const length = Number(req.headers['content-length'] ?? 0);
  return size + (Number.isFinite(length) && length > 0 ? length : 0);
}
