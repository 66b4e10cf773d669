// GET /api/v1/groups?match[]=… and DELETE /api/v1/admin/groups?match[]=… in-process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testGateway, type TestGateway } from '../testing/gateway.js';

const q = (...sel: string[]) => sel.map((s) => `match[]=${encodeURIComponent(s)}`).join('&');

async function fill(gw: TestGateway): Promise<void> {
  for (const path of [
    'job/batch/instance/host-1',
    'job/batch/instance/host-2',
    'job/batch',
    'job/cron/instance/host-1',
  ]) {
    assert.equal((await gw.request('PUT', `/metrics/${path}`, 'x 1\n')).status, 200);
  }
}

const jobs = async (gw: TestGateway) =>
  (JSON.parse((await gw.request('GET', '/api/v1/metrics')).text) as { data: Array<{ labels: object }> }).data.map(
    (g) => g.labels,
  );

test('DELETE /api/v1/admin/groups deletes the groups matching any match[] and answers their count', async () => {
  const gw = await testGateway(['--web.enable-admin-api']);
  await fill(gw);
  const listed = await gw.request('GET', `/api/v1/groups?${q('{job="batch",instance=~"host-.*"}', '{job="cron"}')}`);
  assert.equal(listed.status, 200);
  assert.deepEqual(JSON.parse(listed.text), {
    status: 'success',
    data: {
      matched: 3,
      groups: [
        { instance: 'host-1', job: 'batch' },
        { instance: 'host-1', job: 'cron' },
        { instance: 'host-2', job: 'batch' },
      ],
    },
  });
  const r = await gw.request(
    'DELETE',
    `/api/v1/admin/groups?${q('{job="batch",instance=~"host-.*"}', '{job="cron"}')}`,
  );
  assert.equal(r.status, 202);
  assert.equal(r.headers['content-type'], 'application/json');
  assert.deepEqual(JSON.parse(r.text), { status: 'success', data: { deleted: 3 } });
  assert.deepEqual(await jobs(gw), [{ job: 'batch' }]);
  assert.ok(!(await gw.request('GET', '/metrics')).text.includes('instance="host-'), 'gone from the scrape');
});

test('every group only with an explicit matcher; empty or invalid selectors are 400 with the reason', async () => {
  const gw = await testGateway(['--web.enable-admin-api']);
  await fill(gw);
  const cases: Array<[string, string]> = [
    ['', 'no match[] parameter: give at least one selector, such as match[]={job="batch"}'],
    [q(''), 'invalid match[]: empty selector: give one such as {job="batch"}'],
    [q('{}'), 'invalid match[]: the selector {} has no matcher: name at least one, such as {job="batch"}'],
    [q('{job="a"}', '{job=~".*"}'), 'invalid match[]: the selector {job=~".*"} matches the empty string in every'],
    [q('{job=~"("}'), 'invalid match[]: invalid regular expression "(" for job: Unterminated group'],
  ];
  for (const [query, error] of cases) {
    const r = await gw.request('DELETE', `/api/v1/admin/groups?${query}`);
    assert.equal(r.status, 400, query);
    const body = JSON.parse(r.text) as { status: string; errorType: string; error: string };
    assert.equal(body.status, 'error');
    assert.ok(body.error.startsWith(error), `${body.error} starts with ${error}`);
  }
  assert.equal((await jobs(gw)).length, 4, 'nothing deleted by a refused request');
  const all = await gw.request('DELETE', `/api/v1/admin/groups?${q('{job=~".+"}')}`);
  assert.deepEqual(JSON.parse(all.text), { status: 'success', data: { deleted: 4 } });
  assert.deepEqual(await jobs(gw), []);
});

test('without --web.enable-admin-api there is no delete by selector, and no listing by one (403)', async () => {
  const gw = await testGateway();
  await fill(gw);
  const r = await gw.request('DELETE', `/api/v1/admin/groups?${q('{job="batch"}')}`);
  assert.equal(r.status, 404);
  assert.equal((await jobs(gw)).length, 4);
  const listed = await gw.request('GET', `/api/v1/groups?${q('{job="batch"}')}`);
  assert.equal(listed.status, 403);
  assert.deepEqual(JSON.parse(listed.text), {
    status: 'error',
    errorType: 'forbidden',
    error: 'selectors need --web.enable-admin-api: their regular expressions run on the gateway’s one thread',
  });
  // Without match[] the UI's paged list answers as before.
  const page = JSON.parse((await gw.request('GET', '/api/v1/groups')).text) as { data: { total: number } };
  assert.equal(page.data.total, 4);
});
