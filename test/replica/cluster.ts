// Replicas on Redis as real processes, for the replica tests: a redis-server and gateways started
// with --storage.redis.url on free loopback ports, tracked so `stopCluster` stops them by the
// PIDs we started.
import assert from 'node:assert/strict';
import { send } from '../support/http.js';
import { startServer, type RunningServer } from '../support/servers.js';
import { startRedis, type RunningRedis } from '../support/redis.js';

const started: Array<RunningServer | RunningRedis> = [];

/** Stops every gateway and redis-server started here (call it from the test file's `after`). */
export async function stopCluster(): Promise<void> {
  for (const s of started.reverse()) await ('cleanup' in s ? s.cleanup() : s.stop());
  started.length = 0;
}

/** Tracks a gateway started elsewhere, so that `stopCluster` stops it too. */
export function tracked<T extends RunningServer | RunningRedis>(s: T): T {
  started.push(s);
  return s;
}

/** A fresh redis-server (AOF with appendfsync always if `aof`) and `replicas` gateways on it. */
export async function cluster(
  replicas: number,
  aof = false,
  flags: string[] = [],
): Promise<{ redis: RunningRedis; gws: RunningServer[] }> {
  const redis = tracked(await startRedis({ aof }));
  const gws = await Promise.all(
    Array.from({ length: replicas }, () => startServer('ours', [`--storage.redis.url=${redis.url}`, ...flags])),
  );
  started.push(...gws);
  return { redis, gws };
}

/** Polls until `check` holds (every 10 ms, at most `ms`); the milliseconds it took. */
export async function within(ms: number, check: () => Promise<boolean>, what: string): Promise<number> {
  const start = Date.now();
  while (!(await check())) {
    assert.ok(Date.now() - start < ms, `${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return Date.now() - start;
}

/** The scrape's lines of pushed groups (job="..."), push times masked. */
export async function pushedLines(gw: RunningServer): Promise<string> {
  const body = (await send(gw.url, 'GET', '/metrics')).body.toString();
  return body
    .split('\n')
    .filter((l) => l.includes('job="'))
    .map((l) => (l.startsWith('push_') ? l.replace(/ [^ ]+$/, ' T') : l))
    .join('\n');
}
