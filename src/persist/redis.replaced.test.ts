// Clients replaced when the Sentinels name another master (docs/replicas.md, "Sentinel"): what
// was still running on the old ones may fail after the new master was reached; such a failure
// must not mark Redis down again (pushes refused with 503, pushgateway_redis_up 0).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from '@redis/client';
import pino from 'pino';
import { MemoryStore } from '../store/memory.js';
import { startRedis, startSentinels } from '../../test/support/redis.js';
import { RedisStore } from './redis.js';

async function sentinelCommand(port: number, args: string[]): Promise<unknown> {
  const c = createClient({ socket: { host: '127.0.0.1', port, reconnectStrategy: false } });
  c.on('error', () => undefined);
  await c.connect();
  try {
    return await c.sendCommand(args);
  } finally {
    c.destroy();
  }
}

test('a failure of the clients of a master already left does not mark Redis down', async () => {
  const gone = await startRedis();
  const next = await startRedis();
  const sentinels = await startSentinels(gone, { name: 'm', count: 1 });
  let store: RedisStore | undefined;
  try {
    await gone.stop();
    store = await RedisStore.open(
      {
        url: 'redis://127.0.0.1:1',
        sentinels: [{ host: '127.0.0.1', port: sentinels[0].port }],
        masterName: 'm',
        log: pino({ level: process.env.LOG ?? 'silent' }),
        leaseMs: 300,
        compactMs: 50,
      },
      (remove) => new MemoryStore(undefined, undefined, undefined, { remove }),
    );
    assert.equal(store.health().ready, false);
    // The clients of the master that is gone keep trying to connect: at once, then 50, 100, 200,
    // 400, 800 and 1000 ms apart (attempts ~1550, ~2550, ~3550 ms after the start). When they are
    // replaced, their connect() fails at the end of the wait it is in: switched at ~2650 ms, that is
    // ~900 ms later, well after the new master (reached within 250 ms) was loaded.
    await new Promise((r) => setTimeout(r, 2650));
    await sentinelCommand(sentinels[0].port, ['SENTINEL', 'REMOVE', 'm']);
    await sentinelCommand(sentinels[0].port, ['SENTINEL', 'MONITOR', 'm', '127.0.0.1', String(next.port), '1']);
    for (let i = 0; !store.health().ready; i++) {
      assert.ok(i < 200, `not ready on the new master within 10 s: ${store.health().reason}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    // Watched for longer than the old clients' last wait: ready all along, and pushes are taken.
    const unready: string[] = [];
    for (let waited = 0; waited < 2000; waited += 10) {
      const h = store.health();
      if (!h.ready) unready.push(`${waited} ms: ${h.reason}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.deepEqual(unready, []);
    const result = await store.write({
      labels: { job: 'j' },
      families: [{ name: 'x', type: 'gauge', metrics: [{ labels: [], value: 1 }] }],
      replace: true,
      check: true,
    });
    assert.equal(result.ok, true);
  } finally {
    await store?.close();
    await Promise.all([...sentinels, gone, next].map((r) => r.cleanup()));
  }
});
