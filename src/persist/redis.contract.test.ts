// The store contract against a real redis-server (one per test, with AOF so a Redis restart keeps
// what it acknowledged): the Redis replica store must behave as the memory store does.
import pino from 'pino';
import { MemoryStore } from '../store/memory.js';
import { storeContract } from '../store/contract.suite.js';
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
