// --push.max-groups and --push.max-total-series in-process: the exact answer (503 and what to do),
// nothing stored, the self-metric that counts refusals, and the flags' values. The memory guard on
// a real heap is tested on a process (test/server/memoryguard.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgs, UsageError } from '../config.js';
import { testGateway, type TestGateway } from '../testing/gateway.js';
import { answer } from '../testing/inject.js';

const ERROR = { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' };
const GROUPS =
  'the gateway holds 2 groups, the most --push.max-groups allows: new groups are refused until groups are ' +
  'deleted (existing ones can still be pushed to)';
const series = (total: number) =>
  `the push would bring the gateway to ${total} series, more than the 7 --push.max-total-series allows: ` +
  'delete groups or push fewer series (a group can still be replaced by as many series or fewer)';

async function expectAnswer(gw: TestGateway, request: string, body: string | undefined, status: number, error = '') {
  const [method, url] = request.split(' ');
  const got = answer(await gw.request(method, url, body));
  assert.deepEqual(
    got,
    { status, headers: error === '' ? {} : ERROR, body: error === '' ? '' : error + '\n' },
    request,
  );
}

async function scrape(gw: TestGateway): Promise<string> {
  const r = await gw.request('GET', '/metrics');
  assert.equal(r.status, 200);
  return r.text;
}

for (const check of [true, false]) {
  const flags = ['--push.max-groups=2', '--push.max-total-series=7'];
  if (!check) flags.push('--push.disable-consistency-check');
  test(`${flags.join(' ')}: 503 beyond, nothing stored; replacing and deleting still pass`, async () => {
    const gw = await testGateway(flags);
    const ok = check ? 200 : 202;
    await expectAnswer(gw, 'PUT /metrics/job/a', 'x{i="1"} 1\nx{i="2"} 1\n', ok);
    await expectAnswer(gw, 'PUT /metrics/job/b', 'x{i="1"} 1\n', ok);
    const before = await scrape(gw);
    await expectAnswer(gw, 'PUT /metrics/job/c', 'x 1\n', 503, GROUPS);
    await expectAnswer(gw, 'POST /metrics/job/c/instance/i', '', 503, GROUPS);
    await expectAnswer(gw, 'POST /metrics/job/b', 'y 1\n', 503, series(8));
    await expectAnswer(gw, 'PUT /metrics/job/a', 'x{i="1"} 1\nx{i="2"} 1\nx{i="3"} 1\n', 503, series(8));
    assert.equal(gw.pushed(await scrape(gw)), gw.pushed(before), 'the refused pushes left no trace');
    assert.match(await scrape(gw), /^pushgateway_push_refusals_total\{reason="groups"\} 2$/m);
    assert.match(await scrape(gw), /^pushgateway_push_refusals_total\{reason="series"\} 2$/m);
    assert.match(await scrape(gw), /^pushgateway_push_refusals_total\{reason="memory"\} 0$/m);
    await expectAnswer(gw, 'PUT /metrics/job/a', 'x{i="9"} 5\n', ok);
    await expectAnswer(gw, 'DELETE /metrics/job/b', undefined, 202);
    await expectAnswer(gw, 'PUT /metrics/job/c', 'x 1\ny 1\n', ok);
    assert.equal(gw.store.groupCount, 2);
    assert.equal(gw.store.seriesCount, 7);
  });
}

test('store limit flags: 0 turns them off (the default for the two counts), the guard is at 80 %', () => {
  const limitsOf = (args: string[]) => {
    const o = parseArgs(args);
    assert.equal(o.kind, 'run');
    return o.kind === 'run' ? o.config.storeLimits : undefined;
  };
  assert.deepEqual(limitsOf([]), { maxGroups: 0, maxTotalSeries: 0, memoryGuardPercent: 80 });
  assert.deepEqual(limitsOf(['--push.max-groups=10', '--push.max-total-series=0', '--push.memory-guard-percent=0']), {
    maxGroups: 10,
    maxTotalSeries: 0,
    memoryGuardPercent: 0,
  });
  assert.throws(() => parseArgs(['--push.memory-guard-percent=101']), {
    constructor: UsageError,
    message: '--push.memory-guard-percent is at most 100',
  });
  assert.throws(() => parseArgs(['--push.max-groups=-1']), {
    constructor: UsageError,
    message: 'value -1 for flag --push.max-groups is out of range: at least 0',
  });
  // Flags whose 0 would refuse everything still need a positive number.
  assert.throws(() => parseArgs(['--push.max-series-per-push=0']), UsageError);
});
