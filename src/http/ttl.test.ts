// Group expiry over HTTP, in-process: the Pushgateway-TTL header and its 400, --push.default-ttl,
// the extra fields of /api/v1/metrics, the status and the self-metrics (docs/expiry.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testGateway, type TestGateway } from '../testing/gateway.js';
import { parseArgs, UsageError } from '../config.js';

async function api(gw: TestGateway): Promise<Array<Record<string, unknown>>> {
  const r = await gw.request('GET', '/api/v1/metrics');
  assert.equal(r.status, 200);
  return (JSON.parse(r.text) as { data: Array<Record<string, unknown>> }).data;
}

async function waitGone(gw: TestGateway, path: string): Promise<number> {
  const start = Date.now();
  for (;;) {
    const scrape = (await gw.request('GET', '/metrics')).text;
    if (!scrape.includes(path)) return Date.now() - start;
    assert.ok(Date.now() - start < 5000, `${path} still scraped after 5 s`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const INVALID = ['abc', '5', '-5s', '1x', '', ' ', '1h,2h'];

for (const value of INVALID) {
  test(`Pushgateway-TTL ${JSON.stringify(value)}: 400 naming the header, nothing stored`, async () => {
    const gw = await testGateway();
    const r = await gw.request('PUT', '/metrics/job/a', 'x 1\n', { 'Pushgateway-TTL': value });
    assert.equal(r.status, 400);
    assert.equal(
      r.text,
      `invalid Pushgateway-TTL header ${JSON.stringify(value)}: expected a duration of 0 or more such as 30s, 5m ` +
        'or 1h30m (0s: the group never expires)\n',
    );
    assert.deepEqual(await api(gw), []);
  });
}

test('Pushgateway-TTL: the group is gone from /metrics and the API within a second of its deadline', async () => {
  const gw = await testGateway();
  assert.equal((await gw.request('PUT', '/metrics/job/a', 'x 1\n', { 'Pushgateway-TTL': '400ms' })).status, 200);
  assert.equal((await gw.request('PUT', '/metrics/job/b', 'y 1\n')).status, 200);
  const [a, b] = await api(gw);
  const expiry = a.expiry as { ttl: string; ttl_seconds: number; source: string; expires_at: string };
  assert.deepEqual(
    { ...expiry, expires_at: undefined },
    {
      ttl: '400ms',
      ttl_seconds: 0.4,
      source: 'header',
      expires_at: undefined,
    },
  );
  const deadline = Date.parse(expiry.expires_at);
  assert.ok(Math.abs(deadline - Date.now() - 400) < 1000, expiry.expires_at);
  assert.equal(b.expiry, undefined, 'a group without a TTL has no expiry field');
  await waitGone(gw, 'job="a"');
  assert.ok(Date.now() - deadline <= 1000, `removed ${Date.now() - deadline} ms after the deadline`);
  assert.deepEqual(
    (await api(gw)).map((g) => (g.labels as { job: string }).job),
    ['b'],
  );
  const self = (await gw.request('GET', '/metrics')).text;
  assert.match(self, /\npushgateway_groups_expired_total 1\n/);
  assert.match(self, /\npushgateway_groups_with_deadline 0\n/);
});

test('--push.default-ttl: groups without a header expire; Pushgateway-TTL 0s keeps one', async () => {
  const gw = await testGateway(['--push.default-ttl=300ms']);
  await gw.request('PUT', '/metrics/job/d', 'x 1\n');
  await gw.request('PUT', '/metrics/job/k', 'y 1\n', { 'pushgateway-ttl': '0s' });
  const [d, k] = await api(gw);
  assert.equal((d.expiry as { source: string }).source, 'default');
  assert.deepEqual(k.expiry, { ttl: '0s', ttl_seconds: 0, source: 'header' });
  assert.match((await gw.request('GET', '/metrics')).text, /\npushgateway_groups_with_deadline 1\n/);
  await waitGone(gw, 'job="d"');
  await new Promise((r) => setTimeout(r, 400));
  assert.match((await gw.request('GET', '/metrics')).text, /job="k"/);
  const status = JSON.parse((await gw.request('GET', '/api/v1/status')).text) as {
    data: { flags: Record<string, string> };
  };
  assert.equal(status.data.flags['push.default-ttl'], '300ms');
  assert.match((await gw.request('GET', '/status')).text, /push\.default-ttl[^]*300ms/);
});

test('without a TTL the API shows no expiry fields and the status the default 0s', async () => {
  const gw = await testGateway();
  await gw.request('PUT', '/metrics/job/a', 'x 1\n');
  assert.ok(!(await gw.request('GET', '/api/v1/metrics')).text.includes('expir'));
  const status = JSON.parse((await gw.request('GET', '/api/v1/status')).text) as {
    data: { flags: Record<string, string> };
  };
  assert.equal(status.data.flags['push.default-ttl'], '0s');
});

test('--push.default-ttl takes Go durations and refuses negative ones', () => {
  const ttl = (v: string) => {
    const o = parseArgs([`--push.default-ttl=${v}`]);
    return o.kind === 'run' ? o.config.defaultTtlMs : undefined;
  };
  assert.equal(ttl('1h30m'), 5_400_000);
  assert.equal(ttl('0'), 0);
  assert.throws(() => ttl('-1s'), new UsageError('--push.default-ttl must not be negative'));
  assert.throws(() => ttl('soon'), new UsageError('time: invalid duration "soon"'));
});

test('the UI lists when each group expires; groups without a deadline have none', async () => {
  const gw = await testGateway(['--push.default-ttl=1h']);
  await gw.request('PUT', '/metrics/job/a', 'x 1\n');
  await gw.request('PUT', '/metrics/job/b', 'x 1\n', { 'Pushgateway-TTL': '0s' });
  const page = JSON.parse((await gw.request('GET', '/api/v1/groups')).text) as {
    data: { groups: Array<{ labels: { job: string }; expiresMs?: number }> };
  };
  const [a, b] = page.data.groups;
  assert.ok(Math.abs(a.expiresMs! - Date.now() - 3_600_000) < 5000);
  assert.equal(b.expiresMs, undefined);
  const html = (await gw.request('GET', '/')).text;
  assert.match(html, /expiresMs/);
});
