import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSelfMetrics, gatherSelf } from './selfmetrics.js';
import { TEST_BUILD } from './testing/gateway.js';

test('a push is in the next gathering of the push summaries; the event-loop lag gauges are gathered once a second', async () => {
  const self = createSelfMetrics(TEST_BUILD, {
    groups: () => 0,
    series: () => 0,
    refusals: () => ({ groups: 0, series: 0, memory: 0 }),
  });
  const named = (all: Awaited<ReturnType<typeof gatherSelf>>, name: string) => all.find((f) => f.name === name)!;
  const first = await gatherSelf(self);
  const lag = named(first, 'nodejs_eventloop_lag_seconds');
  assert.ok(lag !== undefined);
  assert.equal(named(first, 'pushgateway_http_push_duration_seconds').metrics.length, 0);

  self.observePush('put', 0.25, 100);
  const second = await gatherSelf(self);
  const pushes = named(second, 'pushgateway_http_push_duration_seconds').metrics;
  assert.deepEqual(
    pushes.map((m) => [m.labels[0].value, m.summary!.sampleCount, m.summary!.quantiles[1].value]),
    [['put', 1, 0.25]],
  );
  // Not read again from the delay histogram: the same family as before.
  assert.equal(named(second, 'nodejs_eventloop_lag_seconds'), lag);

  self.lagGathered = { ...self.lagGathered!, atMs: Date.now() - 1000 };
  assert.notEqual(named(await gatherSelf(self), 'nodejs_eventloop_lag_seconds'), lag);
});
