// Self-metrics of the Redis replica store (docs/replicas.md), registered only when it is used so
// that the embedded store's /metrics stays as it was.
import client from 'prom-client';
import type { RedisStore } from './redis.js';

export interface RedisMetrics {
  onCommit: (seconds: number) => void;
  onFeedLag: (seconds: number) => void;
}

/** Registers the families on `registry`; `store` gives the store once it is open. */
export function registerRedisMetrics(registry: client.Registry, store: () => RedisStore | undefined): RedisMetrics {
  const registers = [registry];
  const buckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
  const commit = new client.Histogram({
    name: 'pushgateway_redis_commit_duration_seconds',
    help: 'Round trip of a change committed to Redis (the script that checks and appends it).',
    buckets,
    registers,
  });
  const lag = new client.Histogram({
    name: 'pushgateway_redis_feed_lag_seconds',
    help: "From a change's commit in Redis (its clock) until this replica applied it from the change feed.",
    // Finer between 10 ms and 1 s than the commit's, so that a p99 near the 100 ms aim can be read from it.
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.02, 0.035, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.35, 0.5, 1, 2.5],
    registers,
  });
  const counter = (name: string, help: string, value: (s: RedisStore) => number) =>
    new client.Counter({
      name,
      help,
      registers,
      collect() {
        this.reset();
        const s = store();
        if (s !== undefined) this.inc(value(s));
      },
    });
  counter(
    'pushgateway_redis_reloads_total',
    'Whole reloads of the state from Redis after the start (missed changes).',
    (s) => s.stats.reloads,
  );
  counter(
    'pushgateway_redis_errors_total',
    'Redis commands that failed (connection lost, timeouts, errors).',
    (s) => s.stats.errors,
  );
  counter(
    'pushgateway_redis_conflicts_total',
    "Commits overtaken by another replica's change to what they were judged on, and judged again.",
    (s) => s.stats.conflicts,
  );
  const gauge = (name: string, help: string, value: (s: RedisStore) => number) =>
    new client.Gauge({
      name,
      help,
      registers,
      collect() {
        const s = store();
        this.set(s === undefined ? 0 : value(s));
      },
    });
  gauge('pushgateway_redis_up', 'Whether Redis can be reached and the state is loaded (1) or not (0).', (s) =>
    s.health().ready ? 1 : 0,
  );
  gauge(
    'pushgateway_redis_version',
    'Version of the last change from Redis this replica applied.',
    (s) => s.redisVersion,
  );
  gauge(
    'pushgateway_redis_expiry_leader',
    'Whether this replica runs group expiry and Redis snapshots (1) or not (0).',
    (s) => (s.leaseHolder ? 1 : 0),
  );
  return { onCommit: (s) => commit.observe(s), onFeedLag: (s) => lag.observe(s) };
}
