// Our exposition as Prometheus' own tools read it: promtool's linter on the text format, and a
// Prometheus with native histograms on, which negotiates the protobuf format, ingesting a native
// histogram pushed by protobuf.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { existsSync } from 'node:fs';
import { startServer, type RunningServer } from '../support/servers.js';
import {
  instantQuery,
  pollUntil,
  requireBinary,
  startPrometheus,
  PROMETHEUS_BIN,
  type RunningPrometheus,
} from '../support/prometheus.js';
import { encodeProtobufDelimited } from '../../src/expose/protobuf.js';
import type { MetricFamily } from '../../src/model.js';

const PROMTOOL_BIN = process.env.PROMTOOL_BIN ?? '/usr/bin/promtool';
const PROTOBUF = 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited';
const running: Array<{ stop: () => Promise<void> }> = [];
after(async () => {
  for (const r of running.reverse()) await r.stop();
});

function put(url: string, body: Buffer | string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'PUT', headers, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const TEXT = `# HELP jobs_processed_total Jobs processed.
# TYPE jobs_processed_total counter
jobs_processed_total{queue="a"} 10
# HELP job_duration_seconds Durations.
# TYPE job_duration_seconds histogram
job_duration_seconds_bucket{le="0.5"} 1
job_duration_seconds_bucket{le="1"} 3
job_duration_seconds_sum 2.5
job_duration_seconds_count 4
# HELP job_latency_seconds Latency.
# TYPE job_latency_seconds summary
job_latency_seconds{quantile="0.5"} 0.2
job_latency_seconds_sum 1
job_latency_seconds_count 5
# HELP last_success_time Last success, with a "quoted" \\\\ backslash.
# TYPE last_success_time gauge
last_success_time{path="a\\"b\\\\c\\nd"} 1.7e+09
`;

const NATIVE: MetricFamily = {
  name: 'batch_size',
  help: 'A native histogram.',
  type: 'histogram',
  metrics: [
    {
      labels: [],
      histogram: {
        sampleCount: 6,
        sampleSum: 21,
        buckets: [],
        schema: 0,
        zeroThreshold: 0.001,
        zeroCount: 0,
        positiveSpans: [{ offset: 1, length: 3 }],
        positiveDeltas: [1, 1, 1],
      },
    },
  ],
};

test('promtool check metrics accepts our text exposition', { timeout: 30_000 }, async () => {
  if (!existsSync(PROMTOOL_BIN)) assert.fail(`${PROMTOOL_BIN} is missing: install the Debian package 'prometheus'`);
  const gw: RunningServer = await startServer('ours');
  running.push(gw);
  assert.equal(await put(`${gw.url}/metrics/job/lint/instance/x`, TEXT), 200);
  assert.equal(
    await put(`${gw.url}/metrics/job/native`, Buffer.from(encodeProtobufDelimited([NATIVE])), {
      'Content-Type': PROTOBUF,
    }),
    200,
  );
  const body = await (await fetch(`${gw.url}/metrics`)).text();
  assert.match(body, /jobs_processed_total\{instance="x",job="lint",queue="a"\} 10/);
  const r = spawnSync(PROMTOOL_BIN, ['check', 'metrics'], { input: body, encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 0, `promtool: ${r.stdout}${r.stderr}`);
});

test(
  'Prometheus with native histograms scrapes ours in protobuf and ingests a native histogram',
  { timeout: 90_000 },
  async () => {
    requireBinary(PROMETHEUS_BIN, 'prometheus');
    const gw: RunningServer = await startServer('ours');
    running.push(gw);
    assert.equal(
      await put(`${gw.url}/metrics/job/native`, Buffer.from(encodeProtobufDelimited([NATIVE])), {
        'Content-Type': PROTOBUF,
      }),
      200,
    );
    assert.equal(await put(`${gw.url}/metrics/job/lint`, TEXT), 200);
    const prom: RunningPrometheus = await startPrometheus(
      [{ jobName: 'pushgateway', targets: [`127.0.0.1:${gw.port}`], honorLabels: true }],
      {
        scrapeInterval: '1s',
        extraArgs: ['--enable-feature=native-histograms'],
      },
    );
    running.push(prom);
    const count = await pollUntil(
      async () => {
        const r = await instantQuery(prom.url, 'histogram_count(batch_size)');
        return r.length > 0 ? r : undefined;
      },
      { timeoutMs: 40_000, intervalMs: 250, describe: async () => prom.output().split('\n').slice(-15).join('\n') },
    );
    assert.equal(count[0].metric.job, 'native');
    assert.equal(count[0].value[1], '6');
    const sum = await instantQuery(prom.url, 'histogram_sum(batch_size)');
    assert.equal(sum[0].value[1], '21');
    const counter = await instantQuery(prom.url, 'jobs_processed_total');
    assert.equal(counter.length, 1);
    assert.equal(counter[0].value[1], '10');
    const up = await instantQuery(prom.url, 'up{job="pushgateway"}');
    assert.equal(up[0]?.value[1], '1');
  },
);

test(
  "Prometheus reads ours' large gzip scrapes (joined from kept and fresh family pieces) as the text they hold",
  { timeout: 90_000 },
  async () => {
    requireBinary(PROMETHEUS_BIN, 'prometheus');
    const gw: RunningServer = await startServer('ours');
    running.push(gw);
    // Three groups × 3 families × 4,000 series: ~3 MiB of text, over the size compressed whole.
    const body = (value: number) =>
      ['big_a', 'big_b', 'big_c']
        .map(
          (name) =>
            `# TYPE ${name} gauge\n` +
            Array.from(
              { length: 4000 },
              (_, i) => `${name}{series="s${i}",pad="${'x'.repeat(40)}"} ${value + i}\n`,
            ).join(''),
        )
        .join('');
    for (let g = 0; g < 3; g++) assert.equal(await put(`${gw.url}/metrics/job/big/instance/g${g}`, body(0)), 200);
    const prom: RunningPrometheus = await startPrometheus(
      [{ jobName: 'pushgateway', targets: [`127.0.0.1:${gw.port}`], honorLabels: true }],
      { scrapeInterval: '1s' },
    );
    running.push(prom);
    const seen = (query: string, want: string) =>
      pollUntil(
        async () => {
          const r = await instantQuery(prom.url, query);
          return r[0]?.value[1] === want ? r : undefined;
        },
        { timeoutMs: 40_000, intervalMs: 250, describe: async () => prom.output().split('\n').slice(-15).join('\n') },
      );
    await seen('count({__name__=~"big_.+"})', '36000');
    // One group pushed again: its families' pieces are compressed anew, the others' kept.
    assert.equal(await put(`${gw.url}/metrics/job/big/instance/g1`, body(1_000_000)), 200);
    await seen('big_b{instance="g1",series="s7"}', '1000007');
    assert.equal((await instantQuery(prom.url, 'big_b{instance="g2",series="s7"}'))[0]?.value[1], '7');
    assert.equal((await instantQuery(prom.url, 'count({__name__=~"big_.+"})'))[0]?.value[1], '36000');
    const up = await instantQuery(prom.url, 'up{job="pushgateway"}');
    assert.equal(up[0]?.value[1], '1');
  },
);
