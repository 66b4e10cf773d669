// The web UI: the groups page at /, the status page at /status, its two static files under
// /static/, and GET /api/v1/groups (our extension) that pages and filters groups for it.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { Config } from '../config.js';
import { goJson, groupJson } from '../expose/json.js';
import type { BuildInfo } from '../selfmetrics.js';
import type { MetricStore } from '../store/types.js';
import { GroupIndex, parseQuery } from './groups.js';
import { groupsPageHtml, statusPageHtml, type Chrome } from './html.js';
import { STYLE_CSS } from './style.js';
import type { GroupsPage, PageData, PageQuery } from './types.js';

export type UiHandler = (req: IncomingMessage, res: ServerResponse, rest: string) => number | Promise<number>;

/** What the request's credential may do, as far as the page offers it (src/http/permissions.ts). */
export interface UiAccess {
  /** How the page names the credential: `user "alice"`. */
  credential: string;
  mayDelete(labels: Readonly<Record<string, string>>): boolean;
  mayWipe: boolean;
}

export interface UiDeps {
  store: MetricStore;
  config: Config;
  build: BuildInfo;
  startMs: number;
  /** The request's credential and permissions; undefined when none are asked for. */
  access?: (req: IncomingMessage) => UiAccess | undefined;
}

export interface Ui {
  /** GET `<prefix>/`: the groups page. */
  page: UiHandler;
  /** GET `<prefix>/status`: build information, flags, start time. */
  status: UiHandler;
  /** GET `<prefix>/static/<file>`; `rest` is the path after `/static` (`/app.js`). */
  asset: UiHandler;
  /** GET `<prefix>/api/v1/groups`: one page of groups, or `?group=<id>` for one group with its series. */
  groups: UiHandler;
  /** Stops following the store (for tests creating many UIs over one store). */
  close: () => void;
}

interface Asset {
  body: Buffer;
  gzip: Buffer;
  type: string;
  etag: string;
}

const HTML = 'text/html; charset=utf-8';
// Defence in depth for a page showing pushed strings next to delete buttons: nothing but our own files.
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** The path prefix of links as the browser sees the gateway: the external URL's path, else the route prefix. */
export function linkBase(config: Pick<Config, 'externalUrl' | 'routePrefix'>): string {
  if (config.externalUrl !== '') {
    try {
      return new URL(config.externalUrl).pathname.replace(/\/+$/, '');
    } catch {
      // parseArgs has refused invalid URLs already
    }
  }
  return config.routePrefix.replace(/\/+$/, '');
}

function makeAsset(body: Buffer, type: string): Asset {
  const etag = '"' + createHash('sha256').update(body).digest('base64url').slice(0, 16) + '"';
  return { body, gzip: gzipSync(body), type, etag };
}

function loadClientScript(): Asset | Error {
  try {
    const body = readFileSync(fileURLToPath(new URL('./client/app.js', import.meta.url)));
    return makeAsset(body, 'text/javascript; charset=utf-8');
  } catch (e) {
    return new Error(`UI script missing (run the tsc build): ${(e as Error).message}`);
  }
}

function query(req: IncomingMessage): URLSearchParams {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
}

function send(res: ServerResponse, status: number, body: string | Buffer, headers: Record<string, string>): number {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(status, { ...headers, 'Content-Length': String(bytes.length) });
  res.end(bytes);
  return status;
}

function sendJson(res: ServerResponse, status: number, body: string): number {
  return send(res, status, body, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
}

export function createUi(deps: UiDeps): Ui {
  const { store, config, build } = deps;
  const index = new GroupIndex(store, config.enableAdminApi);
  const base = linkBase(config);

  const style = makeAsset(Buffer.from(STYLE_CSS), 'text/css; charset=utf-8');
  let script: Asset | Error | undefined;
  const getScript = () => (script ??= loadClientScript());
  const assetVersion = () => {
    const s = getScript();
    return createHash('sha256')
      .update(style.etag)
      .update(s instanceof Error ? '' : s.etag)
      .digest('base64url')
      .slice(0, 10);
  };
  let chrome: Chrome | undefined;
  const getChrome = (): Chrome =>
    (chrome ??= {
      base,
      version: build.version,
      telemetryPath: config.telemetryPath,
      assetQuery: `?v=${assetVersion()}`,
    });

  /** The page as the credential sees it: groups it may not delete say so. */
  const pageFor = (req: IncomingMessage, q: PageQuery): GroupsPage => {
    const p = index.page(q);
    const access = deps.access?.(req);
    if (access === undefined) return p;
    return { ...p, groups: p.groups.map((g) => (access.mayDelete(g.labels) ? g : { ...g, deletable: false })) };
  };

  const page: UiHandler = (req, res) => {
    const t0 = performance.now();
    const q = parseQuery(query(req));
    const access = deps.access?.(req);
    const data: PageData = {
      base,
      admin: config.enableAdminApi && (access?.mayWipe ?? true),
      query: q,
      initial: pageFor(req, q),
      ...(access === undefined ? {} : { credential: access.credential }),
    };
    const html = groupsPageHtml(getChrome(), data);
    // Of the headers the conformance suite compares, only Content-Type, as the reference's page.
    return send(res, 200, html, {
      'Content-Type': HTML,
      'Content-Security-Policy': CSP,
      'Server-Timing': `page;dur=${(performance.now() - t0).toFixed(1)}`,
    });
  };

  const status: UiHandler = (_req, res) => {
    const html = statusPageHtml(getChrome(), {
      build,
      flags: config.flags,
      startMs: deps.startMs,
      nowMs: Date.now(),
      groups: store.groupCount,
      series: store.seriesCount,
    });
    return send(res, 200, html, { 'Content-Type': HTML, 'Content-Security-Policy': CSP });
  };

  const asset: UiHandler = (req, res, rest) => {
    const name = rest.replace(/^\/+/, '');
    let a: Asset | Error | undefined;
    if (name === 'app.js') a = getScript();
    else if (name === 'style.css') a = style;
    if (a === undefined)
      return send(res, 404, '404 page not found\n', {
        'Content-Type': 'text/plain; charset=utf-8',
        'X-Content-Type-Options': 'nosniff',
      });
    if (a instanceof Error) return send(res, 500, a.message + '\n', { 'Content-Type': 'text/plain; charset=utf-8' });
    const versioned = query(req).get('v') === assetVersion();
    const headers: Record<string, string> = {
      'Content-Type': a.type,
      ETag: a.etag,
      'Cache-Control': versioned ? 'public, max-age=31536000, immutable' : 'no-cache',
      'X-Content-Type-Options': 'nosniff',
      Vary: 'Accept-Encoding',
    };
    if (req.headers['if-none-match'] === a.etag) {
      res.writeHead(304, headers);
      res.end();
      return 304;
    }
    if (/\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
      headers['Content-Encoding'] = 'gzip';
      return send(res, 200, a.gzip, headers);
    }
    return send(res, 200, a.body, headers);
  };

  const groups: UiHandler = (req, res) => {
    const params = query(req);
    const id = params.get('group');
    if (id !== null) {
      const g = index.group(id);
      if (g === undefined) return sendJson(res, 404, JSON.stringify({ status: 'error', error: 'group not found' }));
      // The group exactly as it appears in /api/v1/metrics.
      return sendJson(res, 200, `{"status":"success","data":${goJson(groupJson(g, store.expiry))}}`);
    }
    const t0 = performance.now();
    const body = JSON.stringify({ status: 'success', data: pageFor(req, parseQuery(params)) });
    return send(res, 200, body, {
      'Content-Type': 'application/json',
      'Cache-Control': 'no-store',
      'Server-Timing': `groups;dur=${(performance.now() - t0).toFixed(1)}`,
    });
  };

  return { page, status, asset, groups, close: () => index.close() };
}
