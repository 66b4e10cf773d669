// The store contract against a real redis-server (one per test, with AOF so a Redis restart keeps
// what it acknowledged): the Redis replica store must behave as the memory store does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createConnection } from 'node:net';
import pino from 'pino';
import { MemoryStore } from '../store/memory.js';
import { storeContract, view } from '../store/contract.suite.js';
import type { MetricStore } from '../store/types.js';
import { startRedis } from '../../test/support/redis.js';
import { RedisStore } from './redis.js';

storeContract('redis', async (limits, expiry) => {
  const redis = await startRedis({ aof: true });
  const open = () =>
    RedisStore.open(
      { url: redis.url, log: pino({ level: 'silent' }), leaseMs: 600 },
      (remove) => new MemoryStore(undefined, undefined, limits, { ...expiry, remove }),
    );
  let current: MetricStore = await open();
  return {
    store: current,
    // Redis killed (-9) and started again: changes are refused meanwhile, and kept after.
    refuse: (refusing) => {
      if (refusing && redis.pid !== undefined) process.kill(redis.pid, 'SIGKILL');
      else if (!refusing) void redis.kill().then(() => redis.start());
    },
    reopen: async () => {
      await current.close();
      current = await open();
      return current;
    },
    fresh: async () => new MemoryStore(),
    cleanup: async () => {
      await current.close();
      await redis.cleanup();
    },
  };
});

test('a replica started after the snapshot was written and the feed trimmed loads the same state', async () => {
  const redis = await startRedis();
  const open = () =>
    RedisStore.open(
      { url: redis.url, log: pino({ level: 'silent' }), compactMs: 100 },
      (remove) => new MemoryStore(undefined, undefined, undefined, { remove }),
    );
  const first = await open();
  const fam = (v: number) => [{ name: 'x', type: 'gauge' as const, metrics: [{ labels: [], value: v }] }];
  try {
    for (let i = 0; i < 5; i++)
      await first.write({ labels: { job: `j${i}` }, families: fam(i), replace: true, check: true });
    await first.delete({ job: 'j1' });
    const snapshotAt = async () => Number(await redisGet(redis.port, 'pushgateway:snapshot-version'));
    const waitSnapshot = async (version: number) => {
      for (let i = 0; (await snapshotAt()) < version; i++) {
        assert.ok(i < 100, 'no snapshot written');
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await waitSnapshot(first.redisVersion);
    const second = await open();
    assert.deepEqual(view(second), view(first));
    // A wipe, then new groups: the next snapshot starts over.
    await first.wipe();
    await first.write({ labels: { job: 'after' }, families: fam(9), replace: true, check: true });
    await waitSnapshot(first.redisVersion);
    const third = await open();
    assert.deepEqual(view(third), view(first));
    assert.deepEqual(
      [...third.groups()].map((g) => g.labels),
      [{ job: 'after' }],
    );
    await Promise.all([second.close(), third.close()]);
  } finally {
    await first.close();
    await redis.cleanup();
  }
});

/** GET over a raw socket, so the test reads Redis without the store's client. */
function redisGet(port: number, key: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = createConnection({ host: '127.0.0.1', port }, () => s.write(`GET ${key}\r\n`));
    let out = '';
    s.on('data', (d) => {
      out += d.toString();
      const lines = out.split('\r\n');
      if (out.startsWith('$-1')) resolve('0');
      else if (lines.length >= 3) resolve(lines[1]);
      else return;
      s.destroy();
    });
    s.on('error', reject);
  });
}
