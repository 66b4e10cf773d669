// Three replicas on one Redis with every real client (issue #15, "How it is checked"): curl,
// client_golang, Python's prometheus_client and prom-client push, add and delete through replicas
// picked at random (seeded; the seed is in the test's diagnostics), all at once; then the three
// scrapes and JSON APIs must be equal (push times masked). And conflicting pushes (same family
// name, different types, different groups) raced 1,000 times on two replicas: never both
// accepted, and `promtool check metrics` accepts every replica's scrape afterwards.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { normalizeApiMetrics, normalizeMetricsText, parseJson } from '../conformance/normalize.js';
import {
  buildGoClient,
  CLIENT_TIMEOUT_MS,
  GO_BUILD_TIMEOUT_MS,
  plainRegistry,
  promClientRun,
  PY_SCRIPT,
  PYTHON_BIN,
  requirePythonClient,
  run,
} from '../clients/drive.js';
import { send } from '../support/http.js';
import { requireBinary } from '../support/prometheus.js';
import type { RunningServer } from '../support/servers.js';
import { cluster, stopCluster, within } from './cluster.js';
import { seeded } from '../support/random.js';

const CURL_BIN = process.env.CURL_BIN ?? '/usr/bin/curl';
const PROMTOOL_BIN = process.env.PROMTOOL_BIN ?? '/usr/bin/promtool';
const RACES = 1000;

const tempDirs: string[] = [];
after(async () => {
  await stopCluster();
  await Promise.all(tempDirs.map((d) => rm(d, { recursive: true, force: true })));
});

/** The scrape (self families dropped, push times masked) and the JSON API (times masked) of a replica. */
async function view(gw: RunningServer): Promise<{ text: string[]; api: unknown }> {
  const [m, a] = await Promise.all([send(gw.url, 'GET', '/metrics'), send(gw.url, 'GET', '/api/v1/metrics')]);
  assert.equal(m.status, 200);
  assert.equal(a.status, 200);
  return { text: normalizeMetricsText(m.body.toString()), api: normalizeApiMetrics(parseJson(a.body.toString())) };
}

/** Waits until the three replicas show the same; the last replica's view. */
async function allEqual(gws: RunningServer[]): Promise<{ text: string[]; api: unknown }> {
  let views: Array<{ text: string[]; api: unknown }> = [];
  const same = () =>
    views.every((v) => JSON.stringify(v.text) === JSON.stringify(views[0].text)) &&
    views.every((v) => JSON.stringify(v.api) === JSON.stringify(views[0].api));
  try {
    await within(
      3000,
      async () => {
        views = await Promise.all(gws.map(view));
        return same();
      },
      'all replicas equal',
    );
  } catch (e) {
    // Show how they differ.
    for (const v of views.slice(1)) assert.deepEqual(v, views[0]);
    throw e;
  }
  return views[0];
}

test(
  'pushes by curl, client_golang, Python and prom-client through random replicas: all three show the same',
  { timeout: GO_BUILD_TIMEOUT_MS + 60_000 },
  async (t) => {
    requireBinary(CURL_BIN, 'curl');
    const [goBin] = await Promise.all([buildGoClient(tempDirs), requirePythonClient()]);
    const { gws } = await cluster(3);
    const seed = Number(process.env.MATRIX_SEED ?? Date.now() % 1_000_000);
    t.diagnostic(`replicas picked with seed ${seed} (MATRIX_SEED=${seed} repeats them)`);
    const next = seeded(seed);
    const pick = () => gws[Math.floor(next() * gws.length)];

    const curl = async (method: string, path: string, body?: string) => {
      const args = ['-sS', '-f', '-X', method, `${pick().url}${path}`];
      if (body !== undefined) args.push('--data-binary', '@-');
      const r = spawnSync(CURL_BIN, args, { input: body, encoding: 'utf8', timeout: CLIENT_TIMEOUT_MS });
      assert.equal(r.status, 0, `curl ${method} ${path}: ${r.stderr}`);
    };
    const go = async (op: string, variant: string, job: string, ...grouping: string[]) => {
      const r = await run(goBin, [pick().url, op, variant, job, ...grouping], { timeoutMs: CLIENT_TIMEOUT_MS });
      assert.equal(r.code, 0, `client_golang ${op} ${job}: ${r.stderr}`);
    };
    const py = async (op: string, variant: string, job: string, grouping: Record<string, string>) => {
      const r = await run(PYTHON_BIN, [PY_SCRIPT, op, variant, job, JSON.stringify(grouping), pick().url], {
        timeoutMs: CLIENT_TIMEOUT_MS,
      });
      const results = JSON.parse(r.stdout) as Array<{ ok: boolean; error?: string }>;
      assert.ok(results[0].ok, `prometheus_client ${op} ${job}: ${results[0].error ?? r.stderr}`);
    };
    const node = async (
      op: 'push' | 'pushAdd' | 'delete',
      variant: 1 | 2 | 3,
      job: string,
      g: Record<string, string>,
    ) => {
      const r = await promClientRun(pick().url, plainRegistry(variant), op, job, g);
      assert.ok(r.ok, `prom-client ${op} ${job}: ${r.ok ? '' : r.error}`);
    };

    // Each client's changes in order, the four clients at once.
    await Promise.all([
      (async () => {
        await curl('PUT', '/metrics/job/curl/instance/c1', '# TYPE curl_jobs_total counter\ncurl_jobs_total 7\n');
        await curl('POST', '/metrics/job/curl/instance/c1', 'curl_last_seen 1.5\n');
        await curl('PUT', '/metrics/job/curl/instance/gone', '# TYPE curl_jobs_total counter\ncurl_jobs_total 1\n');
        await curl('DELETE', '/metrics/job/curl/instance/gone');
      })(),
      (async () => {
        await go('push', '1', 'go_client', 'instance=host/1', 'team=a');
        await go('add', '2', 'go_client', 'instance=host/1', 'team=a');
        await go('push', '3', 'go_client', 'instance=gone');
        await go('delete', '1', 'go_client', 'instance=gone');
      })(),
      (async () => {
        await py('push', '1', 'py_job', { instance: 'p/1' });
        await py('pushadd', '2', 'py_job', { instance: 'p/1' });
        await py('push', '3', 'py_job', { instance: 'gone' });
        await py('delete', '1', 'py_job', { instance: 'gone' });
      })(),
      (async () => {
        await node('push', 1, 'node_job', { instance: 'n 1' });
        await node('pushAdd', 2, 'node_job', { instance: 'n 1' });
        await node('push', 3, 'node_job', { instance: 'gone' });
        await node('delete', 1, 'node_job', { instance: 'gone' });
      })(),
    ]);

    const shown = await allEqual(gws);
    const expected = [
      'curl_jobs_total{instance="c1",job="curl"} 7',
      'curl_last_seen{instance="c1",job="curl"} 1.5',
      'client_requests_total{code="200",instance="host/1",job="go_client",team="a"} 41',
      'client_added_total{instance="host/1",job="go_client",team="a"} 3',
      'py_requests_total{code="200",instance="p/1",job="py_job"} 41',
      'py_added_total{instance="p/1",job="py_job"} 3',
      'node_requests_total{code="200",instance="n 1",job="node_job"} 41',
      'node_added_total{instance="n 1",job="node_job"} 3',
    ];
    assert.deepEqual(
      expected.filter((l) => !shown.text.includes(l)),
      [],
      `missing from every replica; they show:\n${shown.text.filter((l) => !l.startsWith('#')).join('\n')}`,
    );
    assert.deepEqual(
      shown.text.filter((l) => l.includes('instance="gone"')),
      [],
      'the deleted groups are gone everywhere',
    );
    const groups = (shown.api as { data: Array<{ labels: Record<string, string> }> }).data.map((g) => g.labels.job);
    assert.deepEqual(groups.sort(), ['curl', 'go_client', 'node_job', 'py_job']);
  },
);

test(`conflicting pushes raced ${RACES} times on two replicas: never both accepted; promtool accepts every scrape`, async () => {
  requireBinary(PROMTOOL_BIN, 'prometheus');
  const { gws } = await cluster(3);
  const [a, b] = gws;
  const push = (gw: RunningServer, path: string, body: string, method = 'POST') =>
    send(gw.url, method, `/metrics${path}`, body);
  const round = async (i: number) => {
    // Same family name, different types, different groups. Every third round the name is held
    // already, by a's group alone, which changes its type while b's group adds it.
    const name = `race${i}_total`;
    const family = (type: string) => `# HELP ${name} Raced.\n# TYPE ${name} ${type}\n${name} 1\n`;
    if (i % 3 === 2) assert.equal((await push(a, `/job/a${i}`, family('gauge'))).status, 200);
    const [ra, rb] = await Promise.all([
      push(a, `/job/a${i}`, family('counter'), 'PUT'),
      push(b, `/job/b${i}`, family('untyped')),
    ]);
    const statuses = [ra.status, rb.status].sort();
    assert.deepEqual(statuses, [200, 400], `round ${i}: ${ra.status} ${rb.status} ${ra.body} ${rb.body}`);
    const refused = ra.status === 400 ? ra : rb;
    assert.match(refused.body.toString(), new RegExp(name), `round ${i}: the refusal names the family`);
  };
  // Four lanes of rounds at once, so the Redis commits of several rounds interleave too.
  let nextRound = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      for (let i = nextRound++; i < RACES; i = nextRound++) await round(i);
    }),
  );
  const shown = await allEqual(gws);
  for (let i = 0; i < RACES; i++) {
    const type = shown.text.filter((l) => l.startsWith(`# TYPE race${i}_total `));
    assert.equal(type.length, 1, `race${i}_total: one TYPE line`);
  }
  for (const gw of gws) {
    const body = (await send(gw.url, 'GET', '/metrics')).body.toString();
    const r = spawnSync(PROMTOOL_BIN, ['check', 'metrics'], { input: body, encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 0, `promtool on ${gw.url}: ${r.stdout}${r.stderr}`);
  }
});
