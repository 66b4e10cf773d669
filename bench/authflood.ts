// A wrong-password flood next to a client with good credentials (issue #12): both gateways run
// with basic auth (one user, a cost-10 bcrypt hash, as `htpasswd -B` makes). The good client
// pushes at a steady rate and scrapes every 250 ms with the right password, which each gateway
// has verified once before the windows (so it is cached); in the flood windows 20 more
// connections, from another loopback address, send requests with random wrong passwords as fast
// as they are answered. What counts is the good client's latency with and without the flood.
//
// authrate (issue #16): the same good client, with permissions per credential on ours (the web
// config file's authorization section: the good user may push only to its job), next to a client
// sending 1,000 wrong passwords a second (open loop, abandoned after a second each, so the rate
// holds whatever the gateway answers; sent by a C program on bare sockets, bench/rawflood.c, so
// that the flood's own cost is small beside the gateway's on the shared cores). The reference gets
// the same file without the section. In every window the gateway not measured is frozen.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import { startServer, type RunningServer } from '../test/support/servers.js';
import type { ScenarioResult } from './scenarios.js';
import { KINDS, makeTempDir, pushBody, removeTempDir, stop, track, type Kind } from './gateways.js';
import type { JobResult, StreamSpec } from './load.js';
import {
  alternate,
  newResult,
  wanted,
  type BenchConfig,
  type BenchOutput,
  type MetricDef,
  type Spec,
} from './scenarios.js';
import { loadAvgNote } from './users.js';

const USER = 'pusher';
const PASSWORD = 'good-password';
const FLOOD_CONNECTIONS = 20;
const GOOD_PUSH_RATE = 20;
const GOOD_SCRAPE_EVERY_MS = 250;
const AUTH = { Authorization: 'Basic ' + Buffer.from(`${USER}:${PASSWORD}`).toString('base64') };

const GOOD_METRICS: MetricDef[] = [
  { key: 'pushP50Ms', label: 'good client: push p50, from schedule', unit: 'ms', better: 'lower' },
  { key: 'pushP99Ms', label: 'good client: push p99, from schedule', unit: 'ms', better: 'lower' },
  { key: 'scrapeP99Ms', label: 'good client: scrape p99', unit: 'ms', better: 'lower' },
  { key: 'goodOkPct', label: 'good client: answered 2xx', unit: '%', better: 'higher' },
  {
    key: 'pushClientDelayP99Ms',
    label: "good client: its own event-loop delay p99 (its pushes' process late, not the gateway)",
    unit: 'ms',
    better: 'lower',
  },
];

function goodStreams(s: RunningServer, windowMs: number): StreamSpec[] {
  return [
    {
      name: 'push',
      method: 'PUT',
      port: s.port,
      path: '/metrics/job/authflood/instance/{n}',
      first: 0,
      cycle: 10,
      body: pushBody(20),
      headers: AUTH,
      connections: 4,
      durationMs: windowMs,
      maxRequests: Math.ceil((GOOD_PUSH_RATE * windowMs) / 1000) + 1,
      timeoutMs: 10_000,
      ratePerSec: GOOD_PUSH_RATE,
    },
    {
      name: 'scrape',
      method: 'GET',
      port: s.port,
      path: '/metrics',
      headers: AUTH,
      connections: 1,
      durationMs: windowMs,
      maxRequests: Math.ceil(windowMs / GOOD_SCRAPE_EVERY_MS) + 1,
      timeoutMs: 10_000,
      intervalMs: GOOD_SCRAPE_EVERY_MS,
    },
  ];
}

function floodStream(s: RunningServer, windowMs: number): StreamSpec {
  return {
    name: 'flood',
    method: 'GET',
    port: s.port,
    path: '/metrics',
    wrongPasswordsFor: USER,
    localAddress: '127.0.0.2',
    connections: FLOOD_CONNECTIONS,
    durationMs: windowMs,
    maxRequests: 10_000_000,
    timeoutMs: 30_000,
  };
}

function goodValues(r: JobResult): Record<string, number> {
  const push = r.streams.find((x) => x.name === 'push')!;
  const scrape = r.streams.find((x) => x.name === 'scrape')!;
  return {
    pushP50Ms: push.latencyMs.p50,
    pushP99Ms: push.latencyMs.p99,
    scrapeP99Ms: scrape.latencyMs.p99,
    goodOkPct: (100 * (push.ok + scrape.ok)) / Math.max(1, push.scheduled + scrape.requests),
    pushClientDelayP99Ms: push.clientDelayMs.p99,
    requests: push.requests + scrape.requests,
    ok: push.ok + scrape.ok,
  };
}

/** Ready once /-/ready answers the good credentials: that check is also what puts them in the cache. */
async function probe(url: string): Promise<boolean> {
  const res = await fetch(`${url}/-/ready`, { headers: AUTH, signal: AbortSignal.timeout(5000) });
  await res.arrayBuffer();
  return res.status === 200;
}

interface AuthScenario {
  quiet: ScenarioResult;
  flood: ScenarioResult;
  windowMs: number;
  floodStream: (s: RunningServer, windowMs: number) => StreamSpec;
  /** The web config file each gateway runs with. */
  file: (kind: Kind, hash: string) => string;
  /** What the log says it measures. */
  what: string;
  /** The flood in a load process of its own. */
  apart?: boolean;
}

const FLOOD_METRICS: MetricDef[] = [
  { key: 'floodPerSec', label: 'flood: answers/s', unit: '/s', better: 'none' },
  { key: 'floodSentPerSec', label: 'flood: sent/s (not given up unsent)', unit: '/s', better: 'none' },
  { key: 'flood401PerSec', label: 'flood: 401 (checked) answers/s', unit: '/s', better: 'none' },
];

function goodDescription(windowMs: number): string {
  return (
    `PUTs of a 20-series body scheduled ${GOOD_PUSH_RATE}/s (open loop, latency from the schedule) and a GET /metrics every ` +
    `${GOOD_SCRAPE_EVERY_MS} ms, with basic auth the gateway has already verified (a cost-10 bcrypt hash); ${windowMs / 1000} s windows`
  );
}

async function runAuthScenario(cfg: BenchConfig, out: BenchOutput, a: AuthScenario): Promise<void> {
  const { quiet, flood, windowMs } = a;
  const rounds = cfg.quick ? 1 : 2;
  const servers: Partial<Record<Kind, RunningServer>> = {};
  const specs: Spec[] = [];
  if (wanted(cfg, quiet.id))
    specs.push({
      result: quiet,
      job: (s) => ({ streams: goodStreams(s, windowMs) }),
      values: goodValues,
    });
  if (wanted(cfg, flood.id))
    specs.push({
      result: flood,
      job: (s) => ({ streams: [...goodStreams(s, windowMs), a.floodStream(s, windowMs)], apart: a.apart }),
      values: (r) => {
        const f = r.streams.find((x) => x.name === 'flood')!;
        const v = goodValues(r);
        return {
          ...v,
          floodPerSec: f.rps,
          floodSentPerSec: ((f.requests - (f.errors.NOT_SENT ?? 0)) * 1000) / f.elapsedMs,
          flood401PerSec: ((f.statuses['401'] ?? 0) * 1000) / f.elapsedMs,
        };
      },
    });
  if (specs.length === 0) return;
  cfg.log(`state: ${a.what}`);
  const dir = makeTempDir(`pgw-bench-${quiet.id}-`);
  try {
    const hash = bcrypt.hashSync(PASSWORD, 10);
    for (const kind of KINDS) {
      const file = path.join(dir, `web-${kind}.yml`);
      writeFileSync(file, a.file(kind, hash));
      const s = await startServer(kind, [`--web.config.file=${file}`], { probe, timeoutMs: 30_000 });
      track(s.proc);
      servers[kind] = s;
    }
    // The quiet rounds come first: the reference's backlog from a flood window would otherwise run
    // in its quiet window after it (it is frozen during ours').
    for (const sp of specs) await alternate(cfg, servers, [sp], rounds);
    // The flood's 401/429/503 are what it should get: only the good client's answers count as failures.
    for (const k of KINDS)
      for (const r of flood.rounds[k])
        r.non2xx = Object.entries(r.statuses)
          .filter(([key]) => !key.startsWith('flood ') && !/ 2\d\d$/.test(key))
          .reduce((acc, [, n]) => acc + n, 0);
    for (const sp of specs) {
      loadAvgNote(sp.result);
      out.scenarios.push(sp.result);
    }
    if (specs.length === 2) {
      const ratios = KINDS.map((k) => {
        const before = quiet.median[k].pushP99Ms;
        const during = flood.median[k].pushP99Ms;
        return `${k} ${(during / before).toFixed(2)}× (${before.toFixed(1)} → ${during.toFixed(1)} ms)`;
      });
      flood.notes.push(`Good client's push p99 during the flood / alone: ${ratios.join(', ')}.`);
      const ours = flood.median.ours.pushP99Ms / quiet.median.ours.pushP99Ms;
      if (!(ours <= 2))
        out.notes.push(`${flood.id}: ours' good-client push p99 grew ${ours.toFixed(2)}× under the flood (want ≤ 2×)`);
    }
  } finally {
    for (const k of KINDS) if (servers[k] !== undefined) await stop(servers[k]);
    removeTempDir(dir);
  }
}

export async function authFloodState(cfg: BenchConfig, out: BenchOutput): Promise<void> {
  const windowMs = cfg.quick ? 3000 : 10_000;
  const good = goodDescription(windowMs);
  await runAuthScenario(cfg, out, {
    windowMs,
    quiet: newResult('authflood-quiet', 'Basic auth, good client alone', `${good}; nothing else running`, GOOD_METRICS),
    flood: newResult(
      'authflood-20',
      `Basic auth, good client during a ${FLOOD_CONNECTIONS}-connection wrong-password flood`,
      `${good}; meanwhile ${FLOOD_CONNECTIONS} connections from 127.0.0.2 send GET /metrics with the right user and a random ` +
        'wrong password each, each connection sending its next request as soon as the last is answered',
      [...GOOD_METRICS, ...FLOOD_METRICS],
    ),
    floodStream,
    file: (_kind, hash) => `basic_auth_users:\n  ${USER}: ${hash}\n`,
    what: `basic auth (cost-10 bcrypt), good client with and without a ${FLOOD_CONNECTIONS}-connection flood`,
  });
}

const RATE = 1000;
/**
 * Connections the 1,000/s client may hold; each request is abandoned after RATE_TIMEOUT_MS (the
 * gateway holds its refusals up to seconds), so it needs as many as it sends in that time.
 */
const RATE_CONNECTIONS = 1000;
const RATE_TIMEOUT_MS = 1000;

export async function authRateState(cfg: BenchConfig, out: BenchOutput): Promise<void> {
  const windowMs = cfg.quick ? 3000 : 10_000;
  const good = goodDescription(windowMs);
  const permissions =
    'ours with an authorization section (the good user: read, and push to job=~"authflood.*" only; another user read only)';
  await runAuthScenario(cfg, out, {
    windowMs,
    quiet: newResult(
      'authrate-quiet',
      'Permissions per credential, good client alone',
      `${good}; ${permissions}; nothing else running`,
      GOOD_METRICS,
    ),
    flood: newResult(
      'authrate-1000ps',
      `Permissions per credential, good client next to ${RATE} wrong passwords a second`,
      `${good}; ${permissions}; meanwhile a client on 127.0.0.2 sends GET /metrics with the right user and a random ` +
        `wrong password, ${RATE} requests a second (open loop on up to ${RATE_CONNECTIONS} connections, each ` +
        `request abandoned after ${RATE_TIMEOUT_MS} ms; pre-built requests on bare sockets, sent by a C program ` +
        "(bench/rawflood.c; Node's sockets where there is no C compiler), kept open when the gateway keeps them, " +
        'in a load process of its own that leads its own session (autogroup); every load process starts its clock ' +
        'once all have built their requests); the gateway not measured is frozen (SIGSTOP) during each window',
      [...GOOD_METRICS, ...FLOOD_METRICS],
    ),
    floodStream: (s, ms) => ({
      ...floodStream(s, ms),
      connections: RATE_CONNECTIONS,
      ratePerSec: RATE,
      maxRequests: Math.ceil((RATE * ms) / 1000) + 1,
      timeoutMs: RATE_TIMEOUT_MS,
      raw: true,
    }),
    file: (kind, hash) =>
      `basic_auth_users:\n  ${USER}: ${hash}\n  viewer: ${hash}\n` +
      (kind === 'ours'
        ? `authorization:\n  ${USER}: { actions: [read, push], groups: ['job=~"authflood.*"'] }\n` +
          '  viewer: { actions: [read] }\n'
        : ''),
    what: `permissions per credential, good client with and without ${RATE} wrong passwords a second`,
    apart: true,
  });
}
