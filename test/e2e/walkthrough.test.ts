// End-to-end walk-through, exactly as the Prometheus / Pushgateway docs teach it:
//
//   echo 'example_counter{label1="value1"} 1' | curl --data-binary @- http://HOST:PORT/metrics/job/example_job
//
// 1. ours accepts the push and exposes it on /metrics;
// 2. the Go reference (Debian's prometheus-pushgateway) exposes byte-identical output for the
//    same push, once self-metrics are removed and push times masked;
// 3. the same walk-through with the real curl binary works against ours;
// 4. a real Prometheus server (Debian's prometheus) scraping ours with honor_labels: true
//    ingests the pushed series and reports the scrape as up.
//
// Missing binaries make the tests FAIL (naming the Debian package to install); nothing is skipped.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import http from 'node:http';
import { startServer, REFERENCE_BIN, type RunningServer } from '../support/servers.js';
import {
  PROMETHEUS_BIN,
  activeTargets,
  instantQuery,
  pollUntil,
  requireBinary,
  startPrometheus,
  type RunningPrometheus,
} from '../support/prometheus.js';

const CURL_BIN = process.env.CURL_BIN ?? '/usr/bin/curl';
const BODY = 'example_counter{label1="value1"} 1\n';
const PUSH_PATH = '/metrics/job/example_job';
const SELF_PREFIXES = ['go_', 'process_', 'nodejs_', 'pushgateway_'];
// What Prometheus 2.x sends when scraping.
const PROMETHEUS_ACCEPT =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,' +
  'text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

// Everything started here is also stopped in after(), in case a test timed out mid-way.
const running = new Set<{ stop: () => Promise<void> }>();
function track<T extends { stop: () => Promise<void> }>(s: T): T {
  running.add(s);
  return s;
}
async function stopAll(...servers: ({ stop: () => Promise<void> } | undefined)[]): Promise<void> {
  await Promise.all(
    servers.map(async (s) => {
      if (s === undefined) return;
      running.delete(s);
      await s.stop();
    }),
  );
}
after(async () => {
  await Promise.all([...running].map((s) => s.stop()));
  running.clear();
});

/**
 * A raw HTTP request with exactly the headers given (node's fetch would add
 * `Content-Type: text/plain;charset=UTF-8` to a string body; the docs' push sends none of that kind).
 */
function rawRequest(
  method: string,
  url: string,
  body?: string,
  headers: Record<string, string> = {},
  timeoutMs = 5000,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(body, 'utf8');
    const req = http.request(
      url,
      {
        method,
        headers: { ...headers, ...(data !== undefined ? { 'Content-Length': String(data.length) } : {}) },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${url} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    if (data !== undefined) req.write(data);
    req.end();
  });
}

/** POST the docs' body with no Content-Type, as `curl --data-binary @-` minus curl's form default. */
async function pushDocsExample(server: RunningServer): Promise<void> {
  const res = await rawRequest('POST', server.url + PUSH_PATH, BODY);
  assert.equal(res.status, 200, `${server.kind}: push returned ${res.status}: ${res.body}\n${server.output()}`);
}

async function getMetrics(server: RunningServer, headers: Record<string, string> = {}) {
  const res = await rawRequest('GET', server.url + '/metrics', undefined, headers);
  assert.equal(res.status, 200, `${server.kind}: GET /metrics returned ${res.status}: ${res.body}`);
  return res;
}

/** Name of the metric family a line of the text format belongs to ('' for other lines). */
function lineMetricName(line: string): string {
  const m = /^# (?:HELP|TYPE) (\S+)/.exec(line);
  if (m) return m[1];
  if (line.startsWith('#') || line === '') return '';
  const n = /^[^\s{]+/.exec(line);
  return n ? n[0] : '';
}

/** Removes self-metric families and masks nonzero push_time_seconds values. */
function normalize(exposition: string): string {
  return exposition
    .split('\n')
    .filter((line) => {
      const name = lineMetricName(line);
      return !SELF_PREFIXES.some((p) => name.startsWith(p));
    })
    .map((line) => {
      const m = /^(push_time_seconds(?:\{.*\})?) (\S+)$/.exec(line);
      if (m && Number(m[2]) !== 0) return `${m[1]} <nonzero>`;
      return line;
    })
    .join('\n');
}

/** The assertions of step 1 of the walk-through, on a /metrics body. */
function assertWalkthroughOutput(kind: string, text: string): void {
  const lines = text.split('\n');
  const ctx = `${kind} /metrics was:\n${normalize(text)}`;
  const typeIdx = lines.indexOf('# TYPE example_counter untyped');
  const sampleIdx = lines.indexOf('example_counter{instance="",job="example_job",label1="value1"} 1');
  assert.ok(typeIdx >= 0, `${kind}: missing '# TYPE example_counter untyped'; ${ctx}`);
  assert.ok(sampleIdx >= 0, `${kind}: missing the example_counter sample line; ${ctx}`);
  assert.ok(typeIdx < sampleIdx, `${kind}: TYPE line must precede the sample; ${ctx}`);
  assert.ok(
    lines.includes('push_failure_time_seconds{instance="",job="example_job"} 0'),
    `${kind}: missing push_failure_time_seconds ... 0; ${ctx}`,
  );
  const pushTimeLines = lines.filter((l) => l.startsWith('push_time_seconds{instance="",job="example_job"} '));
  assert.equal(pushTimeLines.length, 1, `${kind}: expected one push_time_seconds line for example_job; ${ctx}`);
  const value = Number(pushTimeLines[0].split(' ')[1]);
  assert.ok(Number.isFinite(value) && value !== 0, `${kind}: push_time_seconds must be nonzero: ${pushTimeLines[0]}`);
  const now = Date.now() / 1000;
  assert.ok(Math.abs(value - now) < 600, `${kind}: push_time_seconds ${value} is not close to now (${now})`);
  // Only the one example_counter sample (no duplicates / leftovers).
  assert.equal(lines.filter((l) => l.startsWith('example_counter')).length, 1, `${kind}: ${ctx}`);
}

function runShell(cmd: string, timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('/bin/sh', ['-c', cmd], { timeout: timeoutMs, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
      resolve({ code, stdout, stderr: stderr + (err && code === null ? `\n${String(err)}` : '') });
    });
  });
}

test('prerequisites: reference pushgateway, prometheus and curl are installed', () => {
  requireBinary(REFERENCE_BIN, 'prometheus-pushgateway');
  requireBinary(PROMETHEUS_BIN, 'prometheus');
  requireBinary(CURL_BIN, 'curl');
});

test(
  'docs walk-through against ours: push with no Content-Type, read it back from /metrics',
  { timeout: 30000 },
  async () => {
    const ours = track(await startServer('ours'));
    try {
      await pushDocsExample(ours);
      const res = await getMetrics(ours);
      assertWalkthroughOutput('ours', res.body);
    } finally {
      await stopAll(ours);
    }
  },
);

test('same pushes against the reference: /metrics byte-identical after normalization', { timeout: 40000 }, async () => {
  requireBinary(REFERENCE_BIN, 'prometheus-pushgateway');
  let ours: RunningServer | undefined;
  let ref: RunningServer | undefined;
  let oursOpenMetrics: RunningServer | undefined;
  try {
    [ours, ref, oursOpenMetrics] = await Promise.all([
      startServer('ours').then(track),
      startServer('reference').then(track),
      startServer('ours', ['--web.enable-openmetrics']).then(track),
    ]);
    await Promise.all([pushDocsExample(ours), pushDocsExample(ref), pushDocsExample(oursOpenMetrics)]);

    const [o, r] = await Promise.all([getMetrics(ours), getMetrics(ref)]);
    assertWalkthroughOutput('reference', r.body); // sanity check of the expectations themselves
    assertWalkthroughOutput('ours', o.body);
    assert.equal(normalize(o.body), normalize(r.body), 'plain GET /metrics differs from the reference');
    assert.equal(o.headers['content-type'], r.headers['content-type'], 'Content-Type of plain GET /metrics');

    // And as Prometheus asks for it when scraping.
    const [o2, r2] = await Promise.all([
      getMetrics(ours, { Accept: PROMETHEUS_ACCEPT }),
      getMetrics(ref, { Accept: PROMETHEUS_ACCEPT }),
    ]);
    // Prometheus prefers OpenMetrics, which the reference does not serve: text 0.0.4 from both.
    assert.equal(r2.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    assert.equal(o2.headers['content-type'], r2.headers['content-type'], 'Content-Type for Prometheus');
    assert.equal(normalize(o2.body), normalize(r2.body), 'GET /metrics as Prometheus asks differs from the reference');
    // Ours serves OpenMetrics only with --web.enable-openmetrics.
    const o3 = await getMetrics(oursOpenMetrics, { Accept: PROMETHEUS_ACCEPT });
    assert.equal(o3.headers['content-type'], 'application/openmetrics-text; version=1.0.0; charset=utf-8');
    assert.match(
      o3.body,
      /^# TYPE example_counter unknown\nexample_counter\{instance="",job="example_job",label1="value1"\} 1\.0\n/m,
    );
    assert.ok(o3.body.endsWith('# EOF\n'), 'OpenMetrics ends with # EOF');
  } finally {
    await stopAll(ours, ref, oursOpenMetrics);
  }
});

test('exact shell walk-through with real curl against ours', { timeout: 30000 }, async () => {
  requireBinary(CURL_BIN, 'curl');
  const ours = track(await startServer('ours'));
  try {
    const cmd =
      `echo 'example_counter{label1="value1"} 1' | ` +
      `${CURL_BIN} --data-binary @- http://127.0.0.1:${ours.port}/metrics/job/example_job`;
    const r = await runShell(cmd, 15000);
    assert.equal(r.code, 0, `curl failed (exit ${r.code}): ${r.stderr}`);
    // A successful push has an empty response body; an error would print its message here.
    assert.equal(r.stdout, '', `curl printed a response body (push rejected?): ${r.stdout}`);
    const res = await getMetrics(ours);
    assertWalkthroughOutput('ours (curl push)', res.body);
  } finally {
    await stopAll(ours);
  }
});

test(
  'real Prometheus scrapes ours (honor_labels: true) and ingests the pushed series',
  { timeout: 90000 },
  async () => {
    requireBinary(PROMETHEUS_BIN, 'prometheus');
    let ours: RunningServer | undefined;
    let prom: RunningPrometheus | undefined;
    try {
      ours = track(await startServer('ours'));
      await pushDocsExample(ours);
      prom = track(
        await startPrometheus([{ jobName: 'pushgateway', targets: [`127.0.0.1:${ours.port}`], honorLabels: true }], {
          scrapeInterval: '1s',
          timeoutMs: 30000,
        }),
      );
      const p = prom;
      const describe = async () => {
        let targets: string;
        try {
          targets = JSON.stringify(await activeTargets(p.url));
        } catch (e) {
          targets = String(e);
        }
        return `targets: ${targets}\nprometheus log tail:\n${p.output().split('\n').slice(-15).join('\n')}`;
      };

      const series = await pollUntil(
        async () => {
          const result = await instantQuery(p.url, 'example_counter');
          return result.some((s) => s.metric.job === 'example_job') ? result : undefined;
        },
        { timeoutMs: 30000, intervalMs: 250, describe },
      );
      assert.equal(series.length, 1, `expected one example_counter series, got ${JSON.stringify(series)}`);
      const { metric, value } = series[0];
      const labels = { ...metric };
      // Prometheus treats an empty label as absent; it reports instance="" by omitting it.
      assert.ok(
        labels.instance === undefined || labels.instance === '',
        `instance should be empty: ${JSON.stringify(metric)}`,
      );
      delete labels.instance;
      assert.deepEqual(labels, { __name__: 'example_counter', job: 'example_job', label1: 'value1' });
      assert.equal(value[1], '1');

      const up = await instantQuery(p.url, 'up{job="pushgateway"}');
      assert.equal(up.length, 1, `expected one up series: ${JSON.stringify(up)}`);
      assert.equal(up[0].value[1], '1', `scrape of ours failed: ${await describe()}`);
      const targets = await activeTargets(p.url);
      const t = targets.find((x) => x.scrapePool === 'pushgateway');
      assert.ok(t, `no pushgateway target: ${JSON.stringify(targets)}`);
      assert.equal(t.health, 'up', `target health: ${JSON.stringify(t)}`);
      assert.equal(t.lastError, '', `target lastError: ${JSON.stringify(t)}`);
    } finally {
      await stopAll(prom, ours);
    }
  },
);
