// Soak test: `npm run soak -- --minutes N` (default 1; `--seconds N` for short runs).
//
// Starts our gateway in a temporary directory with persistence on, runs a mixed load from this
// process on keep-alive connections (pushes to a rotating set of groups in the text, protobuf and
// gzip formats, scrapes, deletes, JSON API and status reads), samples the server's RSS from
// /proc/<pid>/status every few seconds, and prints RSS over time (start, max, end), the requests
// per kind and the errors. Exits non-zero on any error (a non-2xx answer where 2xx was due, a
// connection error, a timeout), if the server dies, or if its clean shutdown fails. The server is
// stopped by the PID this script started.
//
// Options: --minutes N | --seconds N, --workers N (concurrent connections, default 8),
// --groups N (rotating groups, default 300), --sample S (seconds between RSS samples, default 5,
// 1 for runs under a minute), --interval D (--persistence.interval, default 10s), --sync (no-loss
// mode), --json FILE (also write the results as JSON).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { encodeProtobufDelimited } from '../src/expose/protobuf.js';
import type { MetricFamily } from '../src/model.js';
import { startServer } from '../test/support/servers.js';

interface Options {
  seconds: number;
  workers: number;
  groups: number;
  sampleSeconds: number;
  interval: string;
  sync: boolean;
  json: string | undefined;
}

function parseOptions(argv: string[]): Options {
  const opts: Options = {
    seconds: 60,
    workers: 8,
    groups: 300,
    sampleSeconds: 0,
    interval: '10s',
    sync: false,
    json: undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    const num = () => {
      const n = Number(value());
      if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag} needs a positive number`);
      return n;
    };
    switch (flag) {
      case '--minutes':
        opts.seconds = num() * 60;
        break;
      case '--seconds':
        opts.seconds = num();
        break;
      case '--workers':
        opts.workers = Math.round(num());
        break;
      case '--groups':
        opts.groups = Math.round(num());
        break;
      case '--sample':
        opts.sampleSeconds = num();
        break;
      case '--interval':
        opts.interval = value();
        break;
      case '--sync':
        opts.sync = true;
        break;
      case '--json':
        opts.json = value();
        break;
      case '--help':
      case '-h':
        process.stdout.write(
          'usage: npm run soak -- [--minutes N | --seconds N] [--workers N] [--groups N] [--sample S] [--interval D] [--sync] [--json FILE]\n',
        );
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${argv[i]}`);
    }
  }
  if (opts.sampleSeconds === 0) opts.sampleSeconds = opts.seconds < 60 ? 1 : 5;
  return opts;
}

// ---------------------------------------------------------------------------------------------
// Requests.

interface Reply {
  status: number;
  bytes: number;
  body: string;
}

const REQUEST_TIMEOUT_MS = 30_000;

function send(
  agent: Agent,
  port: number,
  method: string,
  urlPath: string,
  body?: Buffer,
  headers: Record<string, string> = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method, path: urlPath, agent, headers, timeout: REQUEST_TIMEOUT_MS },
      (res) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        res.on('data', (c: Buffer) => {
          bytes += c.length;
          if (res.statusCode === undefined || res.statusCode >= 300) chunks.push(c);
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, bytes, body: Buffer.concat(chunks).toString().slice(0, 300) }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout after ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

const PROTOBUF_CT = 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited';
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The families one push of group `g` carries; values change with `n`, label sets stay bounded. */
function families(g: number, n: number): MetricFamily[] {
  const requests: MetricFamily = {
    name: 'soak_requests_total',
    help: 'Requests handled by the soaked job.',
    type: 'counter',
    metrics: Array.from({ length: 10 }, (_, j) => ({
      labels: [
        { name: 'path', value: `/p${j}` },
        { name: 'version', value: `v${(n >> 6) % 8}` },
      ],
      value: n * (j + 1),
    })),
  };
  let cumulative = 0;
  const latency: MetricFamily = {
    name: 'soak_latency_seconds',
    help: 'Latency of the soaked job.',
    type: 'histogram',
    metrics: [
      {
        labels: [],
        histogram: {
          sampleCount: n * 11,
          sampleSum: n * 1.5,
          buckets: BUCKETS.map((b, i) => ({ upperBound: b, cumulativeCount: (cumulative += n + i) })),
        },
      },
    ],
  };
  const temp: MetricFamily = {
    name: 'soak_temperature_celsius',
    help: 'A gauge.',
    type: 'gauge',
    metrics: Array.from({ length: 5 }, (_, j) => ({
      labels: [{ name: 'sensor', value: `s${j}` }],
      value: 20 + ((n + j + g) % 15) / 3,
    })),
  };
  const last: MetricFamily = {
    name: 'soak_last_run_timestamp_seconds',
    help: 'When the job last ran.',
    type: 'gauge',
    metrics: [{ labels: [], value: Date.now() / 1000 }],
  };
  return [requests, latency, temp, last];
}

function text(fams: MetricFamily[]): string {
  const lines: string[] = [];
  const labels = (ls: Array<{ name: string; value: string }>, extra = '') => {
    const parts = ls.map((l) => `${l.name}="${l.value}"`);
    if (extra !== '') parts.push(extra);
    return parts.length === 0 ? '' : `{${parts.join(',')}}`;
  };
  for (const f of fams) {
    lines.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`);
    for (const m of f.metrics) {
      if (m.histogram !== undefined) {
        for (const b of m.histogram.buckets)
          lines.push(`${f.name}_bucket${labels(m.labels, `le="${b.upperBound}"`)} ${b.cumulativeCount}`);
        lines.push(`${f.name}_bucket${labels(m.labels, 'le="+Inf"')} ${m.histogram.sampleCount}`);
        lines.push(
          `${f.name}_sum${labels(m.labels)} ${m.histogram.sampleSum}`,
          `${f.name}_count${labels(m.labels)} ${m.histogram.sampleCount}`,
        );
      } else lines.push(`${f.name}${labels(m.labels)} ${m.value}`);
    }
  }
  return lines.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------
// Load.

type Kind =
  | 'push text PUT'
  | 'push protobuf POST'
  | 'push gzip PUT'
  | 'scrape text'
  | 'scrape protobuf+gzip'
  | 'delete'
  | 'api metrics'
  | 'api status'
  | 'status page'
  | 'ready';

const MIX: Array<[Kind, number]> = [
  ['push text PUT', 30],
  ['push protobuf POST', 15],
  ['push gzip PUT', 10],
  ['scrape text', 10],
  ['scrape protobuf+gzip', 6],
  ['delete', 12],
  ['api metrics', 4],
  ['api status', 4],
  ['status page', 3],
  ['ready', 6],
];
const MIX_TOTAL = MIX.reduce((a, [, w]) => a + w, 0);

interface KindStats {
  requests: number;
  errors: number;
  bytes: number;
  latencies: number[];
}

interface Sample {
  t: number;
  rssKb: number;
  requests: number;
  errors: number;
}

function rssKb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m === null ? NaN : Number(m[1]);
}

function pick(): Kind {
  let r = Math.random() * MIX_TOTAL;
  for (const [k, w] of MIX) {
    r -= w;
    if (r < 0) return k;
  }
  return MIX[0][0];
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

const mb = (kb: number) => (kb / 1024).toFixed(1);
const clock = (s: number) =>
  `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(Math.floor(s % 60)).padStart(2, '0')}`;

async function main(): Promise<number> {
  const opts = parseOptions(process.argv.slice(2));
  const dir = mkdtempSync(path.join(tmpdir(), 'pgw-soak-'));
  const file = path.join(dir, 'soak.data');
  const flags = [
    `--persistence.file=${file}`,
    `--persistence.interval=${opts.interval}`,
    ...(opts.sync ? ['--persistence.sync'] : []),
  ];
  console.log(
    `soak: ${opts.seconds} s, ${opts.workers} connections, ${opts.groups} rotating groups, RSS every ${opts.sampleSeconds} s; server flags: ${flags.join(' ')}`,
  );
  const gw = await startServer('ours', flags, { timeoutMs: 30_000 });
  const pid = gw.proc.pid!;
  let died = false;
  gw.proc.once('exit', () => (died = true));
  // Never leave the server behind: on any exit of this script, and on Ctrl-C.
  process.once('exit', () => {
    if (!died) process.kill(pid, 'SIGKILL');
  });
  process.once('SIGINT', () => process.exit(130));

  const agent = new Agent({ keepAlive: true, maxSockets: opts.workers });
  const stats = new Map<Kind, KindStats>(MIX.map(([k]) => [k, { requests: 0, errors: 0, bytes: 0, latencies: [] }]));
  const errorSamples: string[] = [];
  let totalRequests = 0;
  let totalErrors = 0;
  let pushSeq = 0;
  const started = Date.now();
  const deadline = started + opts.seconds * 1000;
  const samples: Sample[] = [{ t: 0, rssKb: rssKb(pid), requests: 0, errors: 0 }];

  const one = async (kind: Kind): Promise<void> => {
    const n = ++pushSeq;
    const g = n % opts.groups;
    const groupPath = `/metrics/job/soak_${g % 30}/instance/i${g}`;
    let expect = 200;
    let reply: Reply;
    const t0 = performance.now();
    switch (kind) {
      case 'push text PUT':
        reply = await send(agent, gw.port, 'PUT', groupPath, Buffer.from(text(families(g, n))));
        break;
      case 'push protobuf POST':
        reply = await send(agent, gw.port, 'POST', groupPath, Buffer.from(encodeProtobufDelimited(families(g, n))), {
          'Content-Type': PROTOBUF_CT,
        });
        break;
      case 'push gzip PUT':
        reply = await send(agent, gw.port, 'PUT', groupPath, gzipSync(text(families(g, n))), {
          'Content-Encoding': 'gzip',
        });
        break;
      case 'scrape text':
        reply = await send(agent, gw.port, 'GET', '/metrics');
        break;
      case 'scrape protobuf+gzip':
        reply = await send(agent, gw.port, 'GET', '/metrics', undefined, {
          Accept: PROTOBUF_CT,
          'Accept-Encoding': 'gzip',
        });
        break;
      case 'delete':
        expect = 202;
        reply = await send(
          agent,
          gw.port,
          'DELETE',
          `/metrics/job/soak_${((n * 7) % opts.groups) % 30}/instance/i${(n * 7) % opts.groups}`,
        );
        break;
      case 'api metrics':
        reply = await send(agent, gw.port, 'GET', '/api/v1/metrics');
        break;
      case 'api status':
        reply = await send(agent, gw.port, 'GET', '/api/v1/status');
        break;
      case 'status page':
        reply = await send(agent, gw.port, 'GET', '/status');
        break;
      case 'ready':
        reply = await send(agent, gw.port, 'GET', n % 2 === 0 ? '/-/ready' : '/-/healthy');
        break;
    }
    const s = stats.get(kind)!;
    s.latencies.push(performance.now() - t0);
    s.bytes += reply.bytes;
    if (reply.status !== expect)
      throw new Error(`${kind}: answered ${reply.status}, expected ${expect}: ${reply.body}`);
  };

  const worker = async () => {
    while (Date.now() < deadline && !died) {
      const kind = pick();
      const s = stats.get(kind)!;
      s.requests++;
      totalRequests++;
      try {
        await one(kind);
      } catch (e) {
        s.errors++;
        totalErrors++;
        if (errorSamples.length < 10) errorSamples.push(`${new Date().toISOString()} ${(e as Error).message}`);
      }
    }
  };

  const sampler = setInterval(() => {
    if (died) return;
    samples.push({ t: (Date.now() - started) / 1000, rssKb: rssKb(pid), requests: totalRequests, errors: totalErrors });
  }, opts.sampleSeconds * 1000);
  // Progress for long runs, once a minute.
  const progress = setInterval(() => {
    const last = samples[samples.length - 1];
    console.log(
      `  ${clock((Date.now() - started) / 1000)}  RSS ${mb(last.rssKb)} MB  requests ${totalRequests}  errors ${totalErrors}`,
    );
  }, 60_000);

  await Promise.all(Array.from({ length: opts.workers }, worker));
  clearInterval(sampler);
  clearInterval(progress);
  const elapsed = (Date.now() - started) / 1000;
  if (!died) samples.push({ t: elapsed, rssKb: rssKb(pid), requests: totalRequests, errors: totalErrors });
  agent.destroy();
  // And once more after 5 idle seconds, when the collector has had a chance to run.
  await new Promise((r) => setTimeout(r, 5000));
  const idleEnd = died ? undefined : rssKb(pid);

  // Shut down cleanly (SIGTERM to our PID): the final snapshot must be written.
  let shutdown = 'clean (exit 0)';
  if (died) shutdown = `the server died during the run (exit ${gw.proc.exitCode}, signal ${gw.proc.signalCode})`;
  else {
    await gw.stop();
    if (gw.proc.exitCode !== 0) shutdown = `exit ${gw.proc.exitCode}, signal ${gw.proc.signalCode}`;
  }

  // Report.
  const rows =
    samples.length <= 40
      ? samples
      : samples.filter((_, i) => i % Math.ceil(samples.length / 40) === 0 || i === samples.length - 1);
  console.log('\nRSS over time');
  console.log('  time    RSS (MB)  requests   req/s   errors');
  let prev: Sample | undefined;
  for (const s of rows) {
    const rate = prev === undefined || s.t === prev.t ? '' : ((s.requests - prev.requests) / (s.t - prev.t)).toFixed(0);
    console.log(
      `  ${clock(s.t)}  ${mb(s.rssKb).padStart(8)}  ${String(s.requests).padStart(8)}  ${rate.padStart(6)}  ${String(s.errors).padStart(7)}`,
    );
    prev = s;
  }
  const max = samples.reduce((a, b) => (b.rssKb > a.rssKb ? b : a));
  const start = samples[0];
  const afterWarmup = samples.find((s) => s.t >= Math.min(30, elapsed / 4)) ?? start;
  const end = samples[samples.length - 1];
  console.log(
    `\nRSS: start ${mb(start.rssKb)} MB (idle), after warm-up ${mb(afterWarmup.rssKb)} MB (at ${clock(afterWarmup.t)}), max ${mb(max.rssKb)} MB (at ${clock(max.t)}), end ${mb(end.rssKb)} MB, ${idleEnd === undefined ? '-' : mb(idleEnd)} MB after 5 idle seconds`,
  );

  console.log('\nRequests per kind');
  console.log('  kind                    requests   errors   p50 ms   p99 ms   max ms    MB in');
  for (const [kind, s] of stats) {
    const sorted = s.latencies.sort((a, b) => a - b);
    console.log(
      `  ${kind.padEnd(22)}  ${String(s.requests).padStart(8)}  ${String(s.errors).padStart(7)}  ${quantile(sorted, 0.5).toFixed(2).padStart(7)}  ${quantile(sorted, 0.99).toFixed(2).padStart(7)}  ${(sorted.at(-1) ?? NaN).toFixed(1).padStart(7)}  ${(s.bytes / 1048576).toFixed(1).padStart(7)}`,
    );
  }
  console.log(
    `  ${'total'.padEnd(22)}  ${String(totalRequests).padStart(8)}  ${String(totalErrors).padStart(7)}   (${(totalRequests / elapsed).toFixed(0)} req/s over ${elapsed.toFixed(0)} s)`,
  );
  console.log(`\nshutdown: ${shutdown}`);
  if (errorSamples.length > 0) console.log(`\nfirst errors:\n  ${errorSamples.join('\n  ')}`);

  if (opts.json !== undefined) {
    const out = {
      seconds: elapsed,
      options: opts,
      rssMb: {
        start: start.rssKb / 1024,
        afterWarmup: afterWarmup.rssKb / 1024,
        max: max.rssKb / 1024,
        maxAt: max.t,
        end: end.rssKb / 1024,
        idleEnd: idleEnd === undefined ? null : idleEnd / 1024,
      },
      samples,
      requests: Object.fromEntries([...stats].map(([k, s]) => [k, { requests: s.requests, errors: s.errors }])),
      totalRequests,
      totalErrors,
      shutdown,
    };
    writeFileSync(opts.json, JSON.stringify(out, null, 2) + '\n');
  }
  rmSync(dir, { recursive: true, force: true });
  const ok = totalErrors === 0 && shutdown.startsWith('clean');
  console.log(ok ? '\nsoak: OK' : '\nsoak: FAILED');
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`soak: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exit(2);
  },
);
