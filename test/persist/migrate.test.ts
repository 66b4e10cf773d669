// Migration from the Go Pushgateway: the reference (Debian's 1.5.1) stores a varied set of groups
// and writes its gob persistence file on SIGTERM; ours starts on that file and must show what the
// reference showed (/metrics and /api/v1/metrics, push times included; only the JSON time_stamp
// strings are masked, Go printing them with nanoseconds), keep the original as <file>.go-backup,
// and write its own format on the next snapshot. A damaged Go file stops the start as a damaged
// file of ours does, naming the byte.
//
// GOFILE_SAVE=<path> copies the reference's file there (how src/persist/testdata was made).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { NODE_FLAGS } from '../../src/nodeflags.js';
import { encodeProtobufDelimited } from '../../src/expose/protobuf.js';
import type { MetricFamily } from '../../src/model.js';
import { OURS_MAIN, referenceAvailable, startServer, type RunningServer } from '../support/servers.js';
import { send } from '../support/http.js';
import { normalizeApiMetrics, normalizeMetricsText, parseJson, type Plain } from '../conformance/normalize.js';

const dir = mkdtempSync(path.join(tmpdir(), 'pgw-migrate-'));
const running = new Set<RunningServer>();
after(async () => {
  for (const s of running) await s.stop();
  rmSync(dir, { recursive: true, force: true });
});

const PROTOBUF = 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited';
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64url');

const TEXT = `# HELP jobs_total Jobs done.
# TYPE jobs_total counter
jobs_total{queue="a"} 10
jobs_total{queue=""} 2
# TYPE temperature gauge
temperature -1.5e-07
# HELP latency_seconds Latency.
# TYPE latency_seconds summary
latency_seconds{quantile="0.5"} 0.2
latency_seconds{quantile="0.99"} NaN
latency_seconds_sum 1
latency_seconds_count 5
# TYPE size_bytes histogram
size_bytes_bucket{le="100"} 1
size_bytes_bucket{le="+Inf"} 3
size_bytes_sum 250
size_bytes_count 3
plain_untyped{path="a\\"b\\\\c\\nd"} +Inf
`;

const NATIVE: MetricFamily[] = [
  {
    name: 'batch_size',
    help: 'A native histogram.',
    type: 'histogram',
    metrics: [
      {
        labels: [{ name: 'shard', value: '' }],
        histogram: {
          sampleCount: 6,
          sampleSum: 21,
          buckets: [],
          schema: 0,
          zeroThreshold: 0.001,
          zeroCount: 1,
          negativeSpans: [{ offset: -1, length: 1 }],
          negativeDeltas: [1],
          positiveSpans: [
            { offset: 1, length: 2 },
            { offset: 2, length: 1 },
          ],
          positiveDeltas: [1, 1, -1],
        },
      },
    ],
  },
  { name: 'with_help', help: 'Pushed by protobuf.', type: 'counter', metrics: [{ labels: [], value: 7 }] },
];

interface Seen {
  metrics: string[];
  api: Plain;
  pushTimes: string[];
  /** Every family's time_stamp in /api/v1/metrics, in Unix milliseconds, sorted (groups come in Go's map order). */
  stamps: number[];
}

/** What a gateway shows: /metrics normalized (self metrics dropped), /api/v1/metrics, and the raw push times. */
async function seen(url: string): Promise<Seen> {
  const metrics = (await send(url, 'GET', '/metrics')).body.toString('utf8');
  const json = (await send(url, 'GET', '/api/v1/metrics')).body.toString('utf8');
  const pushTimes = metrics.split('\n').filter((l) => /^push_(failure_)?time_seconds\{/.test(l));
  const stamps = [...json.matchAll(/"time_stamp":"([^"]+)"/g)].map((m) => Date.parse(m[1]));
  return {
    metrics: normalizeMetricsText(metrics),
    api: normalizeApiMetrics(parseJson(json)),
    pushTimes: pushTimes.sort(),
    stamps: stamps.sort((a, b) => a - b),
  };
}

/**
 * The API with the native histogram's buckets taken out: ours lists them as upstream 1.11 does,
 * 1.5.1 shows `{}` (docs/compatibility.md, "Additions"); returns how many ours listed.
 */
function withoutNativeBuckets(api: Plain): number {
  let listed = 0;
  const data = (api as { data: Array<Record<string, { metrics: Array<Record<string, Plain>> }>> }).data;
  for (const group of data) {
    for (const m of group.batch_size?.metrics ?? []) {
      if (Array.isArray(m.buckets)) listed += m.buckets.length;
      delete m.buckets;
    }
  }
  return listed;
}

async function push(url: string, method: string, p: string, body: string | Uint8Array, type?: string) {
  const reply = await send(url, method, p, body, type === undefined ? {} : { 'Content-Type': type });
  return reply.status;
}

test('ours imports the Go Pushgateway persistence file and shows what the reference showed', async (t) => {
  if (!referenceAvailable()) return t.skip('the reference pushgateway is not installed');
  const file = path.join(dir, 'metrics.gob');
  const ref = await startServer('reference', [`--persistence.file=${file}`]);
  running.add(ref);
  const u = ref.url;
  assert.equal(await push(u, 'PUT', '/metrics/job/text/instance/a', TEXT), 200);
  assert.equal(await push(u, 'PUT', '/metrics/job/native', encodeProtobufDelimited(NATIVE), PROTOBUF), 200);
  // @base64 grouping key values, one of them with a slash, one empty. A family in several groups
  // has the same HELP in each: where they differ, the reference shows one at random.
  assert.equal(await push(u, 'POST', `/metrics/job@base64/${b64('a/b')}/path@base64/=`, 'slashed 1\n'), 200);
  assert.equal(
    await push(
      u,
      'POST',
      `/metrics/job/text/instance@base64/${b64('ü x')}`,
      '# HELP jobs_total Jobs done.\n# TYPE jobs_total counter\njobs_total 3\n',
    ),
    200,
  );
  // Failed pushes: a type conflict with another group, and one that creates its group.
  assert.equal(await push(u, 'POST', '/metrics/job/text/instance/a', '# TYPE with_help gauge\nwith_help 1\n'), 400);
  assert.equal(await push(u, 'PUT', '/metrics/job/failed_only', '# TYPE jobs_total gauge\njobs_total 1\n'), 400);
  // A later success after a failure in the same group.
  assert.equal(await push(u, 'PUT', '/metrics/job/recovered', 'ok 1\n'), 200);
  assert.equal(await push(u, 'PUT', '/metrics/job/recovered', '# TYPE jobs_total gauge\njobs_total 1\n'), 400);
  assert.equal(await push(u, 'POST', '/metrics/job/recovered', 'ok 2\n'), 200);
  const before = await seen(u);
  await ref.stop();
  running.delete(ref);
  if (process.env.GOFILE_SAVE !== undefined) copyFileSync(file, process.env.GOFILE_SAVE);
  const original = readFileSync(file);
  assert.ok(before.pushTimes.length >= 10, `push times: ${before.pushTimes.join(', ')}`);

  const ours = await startServer('ours', [`--persistence.file=${file}`]);
  running.add(ours);
  const after1 = await seen(ours.url);
  assert.deepEqual(after1.metrics, before.metrics);
  assert.equal(withoutNativeBuckets(before.api), 0);
  assert.equal(withoutNativeBuckets(after1.api), 5, 'the native histogram came back with its buckets');
  assert.deepEqual(after1.api, before.api);
  assert.deepEqual(after1.pushTimes, before.pushTimes, 'push times are kept as they were');
  assert.ok(before.stamps.length > 20 && before.stamps.every((ms) => ms > 1.6e12), before.stamps.join());
  // Go prints nanoseconds, ours microseconds (rounded): the same millisecond, give or take one.
  assert.equal(after1.stamps.length, before.stamps.length);
  const off = after1.stamps.filter((ms, i) => Math.abs(ms - before.stamps[i]) > 1);
  assert.deepEqual(off, [], 'each family keeps the time of its push');
  assert.match(ours.output(), /imported the Go Pushgateway's persistence file/);
  assert.deepEqual(readFileSync(`${file}.go-backup`), original);
  await ours.stop();
  running.delete(ours);

  // The shutdown snapshot is ours; a restart reads it and still shows the same.
  assert.deepEqual([...readFileSync(file).subarray(0, 2)], [0x1f, 0x8b], 'our gzip-compressed snapshot');
  assert.deepEqual(readFileSync(`${file}.go-backup`), original);
  const again = await startServer('ours', [`--persistence.file=${file}`]);
  running.add(again);
  const after2 = await seen(again.url);
  withoutNativeBuckets(after2.api);
  assert.deepEqual(after2, after1, 'the same after our own snapshot');
  assert.doesNotMatch(again.output(), /imported the Go Pushgateway/);
  await again.stop();
  running.delete(again);

  // A damaged Go file (cut in the middle) stops the start, naming the file and the byte.
  const damaged = path.join(dir, 'damaged.gob');
  writeFileSync(damaged, original.subarray(0, Math.floor(original.length / 2)));
  const r = spawnSync(
    process.execPath,
    [...NODE_FLAGS, OURS_MAIN, '--web.listen-address=127.0.0.1:0', `--persistence.file=${damaged}`],
    {
      encoding: 'utf8',
      timeout: 15_000,
    },
  );
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(
    r.stdout + r.stderr,
    /persistence file \S+damaged\.gob \(a Go Pushgateway file\) is damaged at byte \d+: .*refusing to start/,
  );
});
