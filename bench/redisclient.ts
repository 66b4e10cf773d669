// Picks the Redis client for the replica store (docs/replicas.md): ioredis against node-redis
// (@redis/client) on a loopback redis-server, with the commands the store sends: a commit script
// (EVALSHA: INCR + XADD, as the store's commit), one at a time and many in flight, and how soon a
// second connection blocked in XREAD sees an entry. Run: node dist/bench/redisclient.js
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { createClient } from '@redis/client';
import { startRedis } from '../test/support/redis.js';

const SCRIPT = `local v = redis.call('INCR', KEYS[1])
redis.call('XADD', KEYS[2], v .. '-0', 'r', ARGV[1])
return v`;

/** The two clients behind one small interface: a raw command, returning its reply. */
interface Client {
  send(args: string[]): Promise<unknown>;
  close(): Promise<void>;
}

async function ioredisClient(url: string): Promise<Client> {
  const c = new Redis(url, { lazyConnect: true });
  await c.connect();
  return {
    send: (args) => c.call(args[0], ...args.slice(1)),
    close: async () => void c.disconnect(),
  };
}

async function nodeRedisClient(url: string): Promise<Client> {
  const c = createClient({ url });
  c.on('error', () => undefined);
  await c.connect();
  return { send: (args) => c.sendCommand(args), close: async () => void c.destroy() };
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
}

async function measure(name: string, open: (url: string) => Promise<Client>, url: string) {
  const w = await open(url);
  const r = await open(url);
  const sha = (await w.send(['SCRIPT', 'LOAD', SCRIPT])) as string;
  const body = 'x'.repeat(300);
  const keys = ['2', `b:${name}:v`, `b:${name}:feed`];
  const lat: number[] = [];
  for (let i = 0; i < 3000; i++) {
    const t = performance.now();
    await w.send(['EVALSHA', sha, ...keys, body]);
    lat.push(performance.now() - t);
  }
  lat.sort((a, b) => a - b);
  const n = 50_000;
  let t = performance.now();
  for (let done = 0; done < n; done += 1000) {
    await Promise.all(Array.from({ length: 1000 }, () => w.send(['EVALSHA', sha, ...keys, body])));
  }
  const perSec = n / ((performance.now() - t) / 1000);
  // Propagation: a reader blocked in XREAD on its own connection, one entry at a time.
  const last = (await w.send(['GET', keys[1]])) as string;
  const seen: number[] = [];
  let from = `${last}-0`;
  for (let i = 0; i < 2000; i++) {
    const read = r.send(['XREAD', 'BLOCK', '0', 'STREAMS', keys[2], from]);
    await new Promise((res) => setImmediate(res));
    t = performance.now();
    const v = (await w.send(['EVALSHA', sha, ...keys, body])) as number;
    await read;
    seen.push(performance.now() - t);
    from = `${v}-0`;
  }
  seen.sort((a, b) => a - b);
  await w.close();
  await r.close();
  return {
    client: name,
    commitP50Ms: +pct(lat, 50).toFixed(3),
    commitP99Ms: +pct(lat, 99).toFixed(3),
    pipelinedCommitsPerSec: Math.round(perSec),
    feedSeenP50Ms: +pct(seen, 50).toFixed(3),
    feedSeenP99Ms: +pct(seen, 99).toFixed(3),
  };
}

const redis = await startRedis();
try {
  const rows = [];
  // Twice each, alternating, so neither gains from running second on a warm server.
  for (let round = 0; round < 2; round++) {
    rows.push(await measure('ioredis', ioredisClient, redis.url));
    rows.push(await measure('node-redis', nodeRedisClient, redis.url));
  }
  console.table(rows);
} finally {
  await redis.cleanup();
}
