// Runs a conformance case against a running gateway and returns its transcript: a
// JSON-serializable record of every request and of the (normalized) answers.
import http from 'node:http';
import type { ChildProcess } from 'node:child_process';
import { gunzipSync } from 'node:zlib';
import { DEFAULT_FLAGS, type BodyAs, type Case, type Step } from './cases.js';
import {
  goEncodingCheck,
  normalizeApiMetrics,
  normalizeApiStatus,
  normalizeErrorText,
  normalizeMetricsText,
  parseJson,
  toLines,
  type Alternatives,
  type Plain,
} from './normalize.js';
import { RECORDED_HEADERS } from '../../src/testing/inject.js';

export const REQUEST_TIMEOUT_MS = 5000;

export interface Target {
  host: string;
  port: number;
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/**
 * One HTTP request with node's http.request, so that the request target goes on the wire exactly
 * as given (non-ASCII characters as their UTF-8 bytes). A fresh connection per request.
 */
export function rawRequest(
  target: Target,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string | Uint8Array,
  timeoutMs = REQUEST_TIMEOUT_MS,
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const hdrs: Record<string, string> = { ...headers };
    let payload: Buffer | undefined;
    if (body !== undefined) {
      payload = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body);
      hdrs['Content-Length'] = String(payload.length);
    }
    // http.request writes the request line as latin1: give it the UTF-8 bytes as latin1 chars.
    const wirePath = Buffer.from(path, 'utf8').toString('latin1');
    let done = false;
    const finish = (err: Error | undefined, res?: RawResponse) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(res as RawResponse);
    };
    const r = http.request(
      { host: target.host, port: target.port, method, path: wirePath, headers: hdrs, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          finish(undefined, { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', (e) => finish(e));
      },
    );
    const timer = setTimeout(() => {
      r.destroy(new Error(`timeout after ${timeoutMs} ms`));
      finish(new Error(`timeout after ${timeoutMs} ms`));
    }, timeoutMs);
    r.on('error', (e) => finish(e));
    if (payload) r.end(payload);
    else r.end();
  });
}

export interface MetricsSnapshot {
  status: number | null;
  error?: string;
  contentType?: string;
  /** Normalized exposition lines (status 200). */
  lines?: string[];
  /** Normalized body otherwise (lines when it has several). */
  body?: string | string[];
}

export interface ApiSnapshot {
  status: number | null;
  error?: string;
  contentType?: string;
  /** 'go-exact' when the raw JSON is byte-for-byte what Go's encoder writes for the same value. */
  encoding?: string;
  body?: Plain | string;
}

export interface StepRecord {
  request: string;
  requestHeaders?: Record<string, string>;
  requestBody?: string;
  status: number | null;
  /** Transport error (timeout, connection reset), instead of a response. */
  error?: string;
  headers?: Record<string, string>;
  body?: string | string[] | Plain;
  /** For JSON bodies: see ApiSnapshot.encoding. */
  encoding?: string;
  after?: { metrics: MetricsSnapshot; api: ApiSnapshot };
}

export interface Transcript {
  name: string;
  description: string;
  flags: string[];
  steps: StepRecord[];
  final?: { metrics: MetricsSnapshot; api: ApiSnapshot };
  /** For cases that end the server (Case.checksExit): did the process exit? */
  serverExited?: boolean;
}

/** Waits up to timeoutMs for a child process to exit; true if it did. */
export async function waitForExit(proc: ChildProcess, timeoutMs = 5000): Promise<boolean> {
  if (proc.exitCode !== null || proc.signalCode !== null) return true;
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    proc.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

export function caseFlags(c: Case): string[] {
  return c.flags ?? DEFAULT_FLAGS;
}

function pickHeaders(h: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of RECORDED_HEADERS) {
    const v = h[name];
    if (v !== undefined) out[name] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

function decodeBody(res: RawResponse): string {
  let b = res.body;
  if (res.headers['content-encoding'] === 'gzip') {
    try {
      b = gunzipSync(b);
    } catch (e) {
      return `<invalid gzip body: ${(e as Error).message}>`;
    }
  }
  return decodeUtf8Visible(b);
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes UTF-8, showing every byte that is not part of a valid sequence as `<\xHH>` instead of
 * U+FFFD, so that a gateway writing raw invalid bytes and one writing U+FFFD stay distinguishable.
 */
export function decodeUtf8Visible(b: Buffer): string {
  try {
    return strictUtf8.decode(b);
  } catch {
    // fall through to the slow path
  }
  let out = '';
  let i = 0;
  while (i < b.length) {
    const c = b[i];
    const len = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (len > 0 && i + len <= b.length) {
      try {
        out += strictUtf8.decode(b.subarray(i, i + len));
        i += len;
        continue;
      } catch {
        // invalid sequence
      }
    }
    out += `<\\x${c.toString(16).padStart(2, '0')}>`;
    i++;
  }
  return out;
}

function describeRequestBody(step: Step): string | undefined {
  if (step.body === undefined) return undefined;
  if (typeof step.body === 'string') return step.body;
  const hex = Buffer.from(step.body).toString('hex');
  return `<${step.body.length} bytes${step.bodyNote ? `: ${step.bodyNote}` : ''}; hex ${hex}>`;
}

function normalizeBody(bodyAs: BodyAs, status: number, text: string, alternatives: Alternatives | undefined) {
  const rec: { body?: string | string[] | Plain; encoding?: string } = {};
  if (bodyAs === 'none') return rec;
  if (bodyAs === 'metrics' && status === 200) {
    rec.body = normalizeMetricsText(text, alternatives);
    return rec;
  }
  if ((bodyAs === 'api-metrics' || bodyAs === 'api-status') && status === 200) {
    try {
      const node = parseJson(text);
      rec.encoding = goEncodingCheck(text, node);
      rec.body = bodyAs === 'api-metrics' ? normalizeApiMetrics(node) : normalizeApiStatus(node);
    } catch (e) {
      rec.encoding = `not JSON: ${(e as Error).message}`;
      rec.body = text;
    }
    return rec;
  }
  rec.body = textForGolden(normalizeErrorText(text, alternatives));
  return rec;
}

/** A text body: as a string when it is one line, as lines (readable in the golden file) otherwise. */
function textForGolden(text: string): string | string[] {
  const firstNl = text.indexOf('\n');
  if (firstNl < 0 || firstNl === text.length - 1) return text;
  return toLines(text);
}

export function scrapePathOf(c: Case): string {
  return c.scrapePath ?? `${c.routePrefix ?? ''}/metrics`;
}

export function apiPrefixOf(c: Case): string {
  return `${c.routePrefix ?? ''}/api/v1`;
}

async function snapshot(target: Target, c: Case): Promise<{ metrics: MetricsSnapshot; api: ApiSnapshot }> {
  const metrics: MetricsSnapshot = { status: null };
  try {
    const res = await rawRequest(target, 'GET', scrapePathOf(c));
    metrics.status = res.status;
    const ct = res.headers['content-type'];
    if (ct !== undefined) metrics.contentType = ct;
    const text = decodeBody(res);
    if (res.status === 200) metrics.lines = normalizeMetricsText(text, c.alternatives);
    else metrics.body = textForGolden(normalizeErrorText(text, c.alternatives));
  } catch (e) {
    metrics.error = (e as Error).message;
  }
  const api: ApiSnapshot = { status: null };
  try {
    const res = await rawRequest(target, 'GET', `${apiPrefixOf(c)}/metrics`);
    api.status = res.status;
    const ct = res.headers['content-type'];
    if (ct !== undefined) api.contentType = ct;
    const n = normalizeBody('api-metrics', res.status, decodeBody(res), c.alternatives);
    if (n.encoding !== undefined) api.encoding = n.encoding;
    api.body = n.body as Plain | string;
  } catch (e) {
    api.error = (e as Error).message;
  }
  return { metrics, api };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The reference answers 202 (DELETE, wipe, unchecked pushes) after queueing the write, before
 * applying it; give it a moment so that the next request sees the result.
 */
const ASYNC_SETTLE_MS = 30;

export async function runCase(target: Target, c: Case): Promise<Transcript> {
  const t: Transcript = { name: c.name, description: c.description, flags: caseFlags(c), steps: [] };
  for (const step of c.steps) {
    const rec = { request: `${step.method} ${step.path}` } as StepRecord;
    if (step.headers) rec.requestHeaders = step.headers;
    const rb = describeRequestBody(step);
    if (rb !== undefined) rec.requestBody = rb;
    rec.status = null;
    try {
      const res = await rawRequest(target, step.method, step.path, step.headers, step.body);
      rec.status = res.status;
      rec.headers = pickHeaders(res.headers);
      const n = normalizeBody(step.bodyAs ?? 'text', res.status, decodeBody(res), c.alternatives);
      if (n.body !== undefined) rec.body = n.body;
      if (n.encoding !== undefined) rec.encoding = n.encoding;
      if (res.status === 202) await sleep(ASYNC_SETTLE_MS);
    } catch (e) {
      rec.error = (e as Error).message;
    }
    if (step.snapshot) rec.after = await snapshot(target, c);
    t.steps.push(rec);
  }
  if (c.finalSnapshot !== false) t.final = await snapshot(target, c);
  return t;
}

/** Empties the gateway between cases (PUT /api/v1/admin/wipe), waiting until it is empty. */
export async function wipe(target: Target, c: Case): Promise<void> {
  const res = await rawRequest(target, 'PUT', `${apiPrefixOf(c)}/admin/wipe`);
  if (res.status !== 202) throw new Error(`wipe answered ${res.status}: ${res.body.toString()}`);
  const deadline = Date.now() + 3000;
  for (;;) {
    const r = await rawRequest(target, 'GET', `${apiPrefixOf(c)}/metrics`);
    try {
      const j = JSON.parse(r.body.toString('utf8')) as { data?: unknown[] };
      if (r.status === 200 && Array.isArray(j.data) && j.data.length === 0) return;
    } catch {
      // not JSON yet; retry
    }
    if (Date.now() > deadline)
      throw new Error(`gateway not empty after wipe: ${r.status} ${r.body.toString().slice(0, 300)}`);
    await sleep(20);
  }
}

export interface CaseGroup {
  /** A readable label for the server these cases share. */
  label: string;
  flags: string[];
  routePrefix?: string;
  cases: Case[];
}

/** Groups cases by the server they need: equal flags share one; isolated cases get their own. */
export function groupCases(all: Case[]): CaseGroup[] {
  const groups = new Map<string, CaseGroup>();
  for (const c of all) {
    const flags = caseFlags(c);
    const k = JSON.stringify([flags, c.routePrefix ?? '']) + (c.isolated ? `#${c.name}` : '');
    let g = groups.get(k);
    if (!g) {
      g = {
        label: (flags.length ? flags.join(' ') : '(no flags)') + (c.isolated ? ` [${c.name}]` : ''),
        flags,
        cases: [],
      };
      if (c.routePrefix !== undefined) g.routePrefix = c.routePrefix;
      groups.set(k, g);
    }
    g.cases.push(c);
  }
  for (const g of groups.values()) {
    if (g.cases.length > 1 && !g.flags.includes('--web.enable-admin-api'))
      throw new Error(
        `cases ${g.cases.map((c) => c.name).join(', ')} share a server without --web.enable-admin-api (no wipe possible)`,
      );
    const quitting = g.cases.findIndex((c) => c.finalSnapshot === false);
    if (quitting >= 0 && quitting !== g.cases.length - 1)
      throw new Error(`case ${g.cases[quitting].name} may stop its server and must be the last of its group`);
  }
  return [...groups.values()];
}

/** Only the cases whose name matches CONFORMANCE_CASES (a regular expression), if set. */
export function selectedCases(all: Case[]): Case[] {
  const f = process.env.CONFORMANCE_CASES;
  if (!f) return all;
  const re = new RegExp(f);
  return all.filter((c) => re.test(c.name));
}
