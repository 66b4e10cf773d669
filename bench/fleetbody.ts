// The push body of one host of the "fleet" scenarios: what a typical batch job or host agent
// pushes. 24 families, 44 series: counters with and without the _total suffix, gauges, a
// histogram of 10 buckets and a summary, with values that differ from host to host.

export const FLEET_PATH = '/metrics/job/fleet/instance/host-{n}';
export const FLEET_FAMILIES = 24;
export const FLEET_SERIES = 44;

/**
 * The body host `i` pushes at a `generation` (the bench loads generation 0 and then pushes 1 and
 * 2 in turn): as a real host's, its counters grow and its gauges move from push to push, but for
 * its build and config families.
 */
export function fleetBody(i: number, generation = 0): string {
  const g = generation;
  const fixed = (k: number) => ((i * 7919 + k * 104729) % 100_000) + 0.25 * (k % 4);
  const v = (k: number) => fixed(k) + g * (k + 1);
  const out: string[] = [];
  const family = (name: string, type: string, help: string, series: Array<[string, number]>) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of series) out.push(`${name}${labels} ${value}`);
  };
  // Counters named with _total (8 families, 10 series).
  family('fleet_requests_total', 'counter', 'Requests handled.', [
    ['{code="200"}', v(1)],
    ['{code="404"}', v(2)],
    ['{code="500"}', v(3)],
  ]);
  for (const [k, name] of [
    'bytes_sent',
    'errors',
    'jobs_processed',
    'retries',
    'cache_hits',
    'cache_misses',
    'restarts',
  ].entries()) {
    family(`fleet_${name}_total`, 'counter', `Total ${name.replace('_', ' ')}.`, [['', v(10 + k)]]);
  }
  // Counters without the suffix, as older clients push them (4 families, 4 series).
  for (const [k, name] of ['cpu_seconds', 'disk_reads', 'disk_writes', 'net_packets'].entries()) {
    family(`fleet_${name}`, 'counter', `Cumulative ${name.replace('_', ' ')}.`, [['', v(20 + k)]]);
  }
  // Gauges (10 families, 13 series).
  family('fleet_temperature_celsius', 'gauge', 'Sensor temperature.', [
    ['{sensor="cpu"}', 40 + (i % 30) + g],
    ['{sensor="board"}', 30 + (i % 20) + g],
    ['{sensor="disk"}', 25 + (i % 15) + g],
  ]);
  family('fleet_memory_bytes', 'gauge', 'Memory by state.', [
    ['{state="used"}', 1e9 + (i + g) * 4096],
    ['{state="free"}', 3e9 - (i + g) * 4096],
  ]);
  const gauges = [
    'queue_length',
    'last_success_timestamp_seconds',
    'goroutines',
    'open_fds',
    'config_hash',
    'load1',
    'threads',
  ];
  for (const [k, name] of gauges.entries())
    family(`fleet_${name}`, 'gauge', `Current ${name.replace(/_/g, ' ')}.`, [
      ['', name === 'config_hash' ? fixed(30 + k) : v(30 + k)],
    ]);
  family('fleet_build_info', 'gauge', 'Build information.', [[`{version="1.${i % 10}.0",revision="r${i % 97}"}`, 1]]);
  // A histogram: 10 buckets (the last is +Inf), _sum and _count (12 series).
  const bounds = ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '+Inf'];
  const count = 1000 + (i % 500) + g;
  out.push('# HELP fleet_request_duration_seconds Request latency.', '# TYPE fleet_request_duration_seconds histogram');
  for (const [k, le] of bounds.entries()) {
    const c = k === bounds.length - 1 ? count : Math.floor((count * (k + 1)) / (bounds.length + 1));
    out.push(`fleet_request_duration_seconds_bucket{le="${le}"} ${c}`);
  }
  out.push(
    `fleet_request_duration_seconds_sum ${(count * 0.087).toFixed(3)}`,
    `fleet_request_duration_seconds_count ${count}`,
  );
  // A summary: three quantiles, _sum and _count (5 series).
  out.push('# HELP fleet_job_duration_seconds Job run time.', '# TYPE fleet_job_duration_seconds summary');
  out.push(`fleet_job_duration_seconds{quantile="0.5"} ${1 + ((i + g) % 7) / 10}`);
  out.push(`fleet_job_duration_seconds{quantile="0.9"} ${2 + ((i + g) % 7) / 10}`);
  out.push(`fleet_job_duration_seconds{quantile="0.99"} ${4 + ((i + g) % 7) / 10}`);
  out.push(`fleet_job_duration_seconds_sum ${count * 1.3}`, `fleet_job_duration_seconds_count ${count}`);
  return out.join('\n') + '\n';
}
