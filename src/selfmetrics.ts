// The gateway's own metrics, kept by prom-client and exposed beside the pushed ones in the
// reference's family names, so dashboards built on the Go Pushgateway keep working.
import client from 'prom-client';
import type { LabelPair, Metric, MetricFamily, MetricType } from './model.js';
import type { ExpiryState, RefusalReason, ReservedFamily } from './store/types.js';
import { WindowSummary } from './lib/windowsummary.js';

export interface SelfMetrics {
  registry: client.Registry;
  /**
   * The event-loop lag gauges: computing them costs more than the rest of a scrape of 20,000
   * series (prom-client reads the whole delay histogram for each), so they are gathered again
   * once a second, as an idle scrape would see them; a push does not change them.
   */
  lag: client.Registry;
  /** What `lag` gave last, and when. */
  lagGathered: Gathered | undefined;
  requests: client.Counter<RequestLabel>;
  /**
   * The reference's summaries: quantiles 0.1/0.5/0.9 over a 10-minute window in 5 buckets.
   * Gathered again after a push was observed or a second has passed (buckets age out).
   */
  summaries: WindowSummary[];
  /** What `summaries` gave last, and when; cleared by a push. */
  summariesGathered: Gathered | undefined;
  countRequest(code: number, handler: string, method: string): void;
  groups: client.Gauge;
  series: client.Gauge;
  refusals: client.Counter<'reason'>;
  observePush(method: string, seconds: number, bytes: number): void;
}

export interface BuildInfo {
  version: string;
  revision: string;
  branch: string;
  buildUser: string;
  buildDate: string;
  goVersion: string;
}

type RequestLabel = 'code' | 'handler' | 'method';

interface Gathered {
  readonly atMs: number;
  readonly families: MetricFamily[];
}

export function createSelfMetrics(
  build: BuildInfo,
  counts: {
    groups: () => number;
    series: () => number;
    /** Writes the store's limits refused so far, by reason. */
    refusals: () => Readonly<Record<RefusalReason, number>>;
    /** Group expiry's counts (docs/expiry.md), once the store is built. */
    expiry?: () => ExpiryState | undefined;
  },
): SelfMetrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  // Gauges named *_total, which `promtool check metrics` rejects; each has a twin without the suffix.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
    registry.removeSingleMetric(name);
  }
  const registers = [registry];
  const info = new client.Gauge({
    name: 'pushgateway_build_info',
    help: "A metric with a constant '1' value labeled by version, revision, branch, goversion from which pushgateway was built, and the goos and goarch for the build.",
    labelNames: ['branch', 'goarch', 'goos', 'goversion', 'revision', 'version'],
    registers,
  });
  info.set(
    {
      branch: build.branch,
      goarch: process.arch === 'x64' ? 'amd64' : process.arch,
      goos: process.platform,
      goversion: build.goVersion,
      revision: build.revision,
      version: build.version,
    },
    1,
  );
  const lag = new client.Registry();
  for (const { name } of registry.getMetricsAsArray()) {
    const metric = registry.getSingleMetric(name);
    if (!name.startsWith('nodejs_eventloop_lag_') || metric === undefined) continue;
    registry.removeSingleMetric(name);
    lag.registerMetric(metric);
  }
  const summary = { quantiles: [0.1, 0.5, 0.9], maxAgeMs: 600_000, ageBuckets: 5 };
  const pushDuration = new WindowSummary(
    'pushgateway_http_push_duration_seconds',
    'HTTP request duration for pushes to the Pushgateway.',
    'method',
    summary,
  );
  const pushSize = new WindowSummary(
    'pushgateway_http_push_size_bytes',
    'HTTP request size for pushes to the Pushgateway.',
    'method',
    summary,
  );
  // Counted here and handed to prom-client at a scrape: its inc() hashes the labels each time.
  const requestCounts = new Map<string, { labels: Record<RequestLabel, string>; n: number }>();
  // Group expiry (docs/expiry.md).
  new client.Counter({
    name: 'pushgateway_groups_expired_total',
    help: 'Groups removed because their TTL (--push.default-ttl or Pushgateway-TTL) ran out since their last push.',
    registers,
    collect() {
      this.reset();
      this.inc(counts.expiry?.()?.expired ?? 0);
    },
  });
  new client.Gauge({
    name: 'pushgateway_groups_with_deadline',
    help: 'Groups that will expire unless pushed to again (their TTL is not 0).',
    registers,
    collect() {
      this.set(counts.expiry?.()?.scheduled ?? 0);
    },
  });
  return {
    registry,
    lag,
    lagGathered: undefined,
    summaries: [pushDuration, pushSize],
    summariesGathered: undefined,
    observePush(method, seconds, bytes) {
      pushDuration.observe(method, seconds);
      pushSize.observe(method, bytes);
      this.summariesGathered = undefined;
    },
    countRequest(code, handler, method) {
      const key = `${code} ${handler} ${method}`;
      const c = requestCounts.get(key);
      if (c !== undefined) c.n++;
      else requestCounts.set(key, { labels: { code: String(code), handler, method }, n: 1 });
    },
    requests: new client.Counter({
      name: 'pushgateway_http_requests_total',
      help: 'Total HTTP requests processed by the Pushgateway, excluding scrapes.',
      labelNames: ['code', 'handler', 'method'],
      registers,
      collect() {
        this.reset();
        for (const { labels, n } of requestCounts.values()) this.inc(labels, n);
      },
    }),
    groups: new client.Gauge({
      name: 'pushgateway_groups',
      help: 'Number of groups currently stored.',
      registers,
      collect() {
        this.set(counts.groups());
      },
    }),
    series: new client.Gauge({
      name: 'pushgateway_series',
      help: 'Number of series currently stored, push_time_seconds and push_failure_time_seconds included.',
      registers,
      collect() {
        this.set(counts.series());
      },
    }),
    refusals: new client.Counter({
      name: 'pushgateway_push_refusals_total',
      help:
        'Pushes refused because the gateway is full: groups (--push.max-groups), ' +
        'series (--push.max-total-series), memory (--push.memory-guard-percent).',
      labelNames: ['reason'],
      registers,
      collect() {
        this.reset();
        for (const [reason, n] of Object.entries(counts.refusals())) this.inc({ reason }, n);
      },
    }),
  };
}

type PromJson = Awaited<ReturnType<client.Registry['getMetricsAsJSON']>>[number];

function pairs(labels: Record<string, string | number>, skip?: string): LabelPair[] {
  return Object.keys(labels)
    .filter((n) => n !== skip)
    .sort()
    .map((name) => ({ name, value: String(labels[name]) }));
}

function toNumber(v: string | number): number {
  return typeof v === 'number' ? v : v === '+Inf' ? Infinity : Number(v);
}

function toFamily(pm: PromJson): MetricFamily {
  const type = String(pm.type) as MetricType;
  const values = pm.values as Array<{ labels: Record<string, string | number>; value: number; metricName?: string }>;
  if (type !== 'summary' && type !== 'histogram') {
    return {
      name: pm.name,
      help: pm.help,
      type,
      metrics: values.map((v) => ({ labels: pairs(v.labels), value: v.value })),
    };
  }
  const extra = type === 'summary' ? 'quantile' : 'le';
  const byLabels = new Map<string, Metric>();
  for (const v of values) {
    const labels = pairs(v.labels, extra);
    const key = JSON.stringify(labels);
    let m = byLabels.get(key);
    if (m === undefined) {
      m =
        type === 'summary'
          ? { labels, summary: { sampleCount: 0, sampleSum: 0, quantiles: [] } }
          : { labels, histogram: { sampleCount: 0, sampleSum: 0, buckets: [] } };
      byLabels.set(key, m);
    }
    const agg = m.summary ?? m.histogram!;
    if (v.metricName?.endsWith('_sum')) agg.sampleSum = v.value;
    else if (v.metricName?.endsWith('_count')) agg.sampleCount = v.value;
    else if (m.summary !== undefined)
      m.summary.quantiles.push({ quantile: toNumber(v.labels.quantile), value: v.value });
    else if (v.labels.le !== '+Inf')
      m.histogram!.buckets.push({ upperBound: toNumber(v.labels.le), cumulativeCount: v.value });
  }
  return { name: pm.name, help: pm.help, type, metrics: [...byLabels.values()] };
}

/** The current self-metrics as metric families. */
export async function gatherSelf(self: SelfMetrics): Promise<MetricFamily[]> {
  const now = Date.now();
  const fresh = (g: Gathered | undefined): g is Gathered => g !== undefined && now - g.atMs < 1000;
  let lag = self.lagGathered;
  if (!fresh(lag)) self.lagGathered = lag = { atMs: now, families: (await self.lag.getMetricsAsJSON()).map(toFamily) };
  let summaries = self.summariesGathered;
  if (!fresh(summaries))
    self.summariesGathered = summaries = { atMs: now, families: self.summaries.map((s) => s.family()) };
  return [...(await self.registry.getMetricsAsJSON()).map(toFamily), ...lag.families, ...summaries.families];
}

/** Names, types and helps of the self-metrics: pushed families must agree with them. */
export async function reservedFamilies(self: SelfMetrics): Promise<Map<string, ReservedFamily>> {
  const out = new Map<string, ReservedFamily>();
  for (const mf of await gatherSelf(self))
    out.set(mf.name, { type: mf.type, help: mf.help ?? '', forceHelp: mf.metrics.length > 0 });
  return out;
}
