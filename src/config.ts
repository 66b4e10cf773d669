// Command-line flags: the reference's names, defaults, help texts and error messages (kingpin's).
import { formatGoDuration, parseGoDuration } from './lib/duration.js';
import { goQuote } from './lib/goquote.js';
import type { StoreLimitOptions } from './store/limits.js';

/** Bounds on what one push may carry; over a bound, the push is refused and nothing is stored. */
export interface PushLimits {
  maxBodyBytes: number;
  maxSeries: number;
  maxNameLength: number;
  maxLabelValueLength: number;
}

export interface Config {
  listenAddresses: string[];
  systemdSocket: boolean;
  webConfigFile: string;
  telemetryPath: string;
  externalUrl: string;
  /** Computed as the reference does: the flag, else the external URL's path; '' or '/x'. */
  routePrefix: string;
  /** The external URL's path as a prefix ('' or '/x'), logged at start as the reference does. */
  externalPrefix: string;
  enableLifecycle: boolean;
  enableAdminApi: boolean;
  /** --web.enable-openmetrics: scrapes may negotiate OpenMetrics (the reference never serves it). */
  enableOpenMetrics: boolean;
  persistenceFile: string;
  persistenceIntervalMs: number;
  persistenceSync: boolean;
  persistenceStartEmptyOnError: boolean;
  /** --storage.redis.*: replicas share one state through Redis (docs/replicas.md); absent: the embedded store. */
  redis?: RedisConfig;
  disableConsistencyCheck: boolean;
  /** --push.enable-utf8-names: UTF-8 metric and label names in pushes (Pushgateway 1.11). */
  utf8Names: boolean;
  limits: PushLimits;
  /** Ceilings on what the store holds (--push.max-groups, --push.max-total-series, --push.memory-guard-percent). */
  storeLimits: StoreLimitOptions;
  /** --push.default-ttl: a group without a Pushgateway-TTL of its own expires this long after its last push; 0: never. */
  defaultTtlMs: number;
  /** Connection limits and timeouts against slow or too many clients. */
  web: {
    maxConnections: number;
    readHeaderTimeoutMs: number;
    readTimeoutMs: number;
    idleTimeoutMs: number;
    /** --web.min-upload-rate: bytes per second a request body must average after 10 s. */
    minUploadRate: number;
  };
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  logFormat: 'logfmt' | 'json';
  /** --web.probes-without-auth: /-/healthy and /-/ready answer without credentials. */
  probesWithoutAuth: boolean;
  /** --log.audit: a line for every push, delete, wipe, expiry and failed authentication. */
  logAudit: boolean;
  /** Every flag's value as text, for /api/v1/status and the status page. */
  flags: Record<string, string>;
}

export interface RedisConfig {
  /** redis:// or rediss:// URL; with Sentinel, only its credentials, TLS and database are used. */
  url: string;
  /** --storage.redis.password-file: the password, read from this file (in place of the URL's). */
  passwordFile: string;
  sentinels: Array<{ host: string; port: number }>;
  masterName: string;
  /** --storage.redis.sentinel-password-file: the Sentinels' own password (their requirepass). */
  sentinelPasswordFile: string;
  /** --storage.redis.sentinel-tls: the Sentinels are reached over TLS. */
  sentinelTls: boolean;
  /** --storage.redis.tls-*: for every TLS connection (rediss:// master, Sentinels with sentinel-tls); '' if unset. */
  tls: { caCertFile: string; certFile: string; keyFile: string; serverName: string };
  minReplicasAcked: number;
}

type Kind = 'bool' | 'string' | 'strings' | 'duration' | 'url' | 'enum' | 'int';
interface FlagSpec {
  name: string;
  kind: Kind;
  def: string;
  help: string;
  values?: string[];
  /** An int flag that 0 turns off. */
  zeroOff?: true;
}

export const FLAGS: FlagSpec[] = [
  {
    name: 'web.systemd-socket',
    kind: 'bool',
    def: 'false',
    help: 'Use systemd socket activation listeners instead of port listeners (Linux only).',
  },
  {
    name: 'web.listen-address',
    kind: 'strings',
    def: ':9091',
    help: 'Addresses on which to expose metrics and web interface. Repeatable for multiple addresses.',
  },
  {
    name: 'web.config.file',
    kind: 'string',
    def: '',
    help: '[EXPERIMENTAL] Path to configuration file that can enable TLS or authentication.',
  },
  { name: 'web.telemetry-path', kind: 'string', def: '/metrics', help: 'Path under which to expose metrics.' },
  {
    name: 'web.external-url',
    kind: 'url',
    def: '',
    help: 'The URL under which the Pushgateway is externally reachable.',
  },
  {
    name: 'web.route-prefix',
    kind: 'string',
    def: '',
    help: 'Prefix for the internal routes of web endpoints. Defaults to the path of --web.external-url.',
  },
  { name: 'web.enable-lifecycle', kind: 'bool', def: 'false', help: 'Enable shutdown via HTTP request.' },
  { name: 'web.enable-admin-api', kind: 'bool', def: 'false', help: 'Enable API endpoints for admin control actions.' },
  {
    name: 'web.enable-openmetrics',
    kind: 'bool',
    def: 'false',
    help: 'Answer scrapes that ask for OpenMetrics in OpenMetrics (by default, like upstream, only the text and protobuf formats).',
  },
  {
    name: 'persistence.file',
    kind: 'string',
    def: '',
    help: 'File to persist metrics. If empty, metrics are only kept in memory.',
  },
  {
    name: 'persistence.interval',
    kind: 'duration',
    def: '5m',
    help: 'The minimum interval at which to write out the persistence file.',
  },
  {
    name: 'persistence.sync',
    kind: 'bool',
    def: 'false',
    help: 'Acknowledge a push only after it is on disk (write-ahead log), so a crash loses no acknowledged push. Needs --persistence.file.',
  },
  {
    name: 'persistence.start-empty-on-error',
    kind: 'bool',
    def: 'false',
    help: 'Start with an empty store when the persistence file is damaged, instead of refusing to start.',
  },
  {
    name: 'storage.redis.url',
    kind: 'string',
    def: '',
    help: 'Keep the metrics in Redis (redis://[user:password@]host:port[/db], rediss:// for TLS), shared by every replica with the same setting. If empty, the embedded store.',
  },
  {
    name: 'storage.redis.password-file',
    kind: 'string',
    def: '',
    help: 'File holding the Redis password (instead of putting it in the URL).',
  },
  {
    name: 'storage.redis.sentinels',
    kind: 'string',
    def: '',
    help: 'Redis Sentinels to ask for the master (host:port,...); needs --storage.redis.master-name.',
  },
  {
    name: 'storage.redis.master-name',
    kind: 'string',
    def: '',
    help: 'Name of the master the Redis Sentinels watch.',
  },
  {
    name: 'storage.redis.sentinel-password-file',
    kind: 'string',
    def: '',
    help: "File holding the Redis Sentinels' own password, if they ask for one (--storage.redis.password-file is the master's).",
  },
  {
    name: 'storage.redis.sentinel-tls',
    kind: 'bool',
    def: 'false',
    help: 'Reach the Redis Sentinels over TLS (their tls-port), with the --storage.redis.tls-* settings.',
  },
  {
    name: 'storage.redis.tls-ca-cert-file',
    kind: 'string',
    def: '',
    help: "CA certificate(s) (PEM) to verify the Redis servers' and Sentinels' certificates; if empty, the system's CAs.",
  },
  {
    name: 'storage.redis.tls-cert-file',
    kind: 'string',
    def: '',
    help: 'Client certificate (PEM) shown to Redis and the Sentinels over TLS (for tls-auth-clients); needs --storage.redis.tls-key-file.',
  },
  {
    name: 'storage.redis.tls-key-file',
    kind: 'string',
    def: '',
    help: 'Private key (PEM) of --storage.redis.tls-cert-file.',
  },
  {
    name: 'storage.redis.tls-server-name',
    kind: 'string',
    def: '',
    help: "Name the Redis servers' and Sentinels' certificates must hold (and sent as SNI), instead of the address connected to (Sentinels name masters by IP).",
  },
  {
    name: 'storage.redis.min-replicas-acked',
    kind: 'int',
    def: '0',
    zeroOff: true,
    help: 'Answer a push only once this many Redis replicas hold it (WAIT), so a failover loses no acknowledged push; 0: do not wait.',
  },
  {
    name: 'push.disable-consistency-check',
    kind: 'bool',
    def: 'false',
    help: 'Do not check consistency of pushed metrics. DANGEROUS.',
  },
  {
    name: 'push.enable-utf8-names',
    kind: 'bool',
    def: 'false',
    help: 'Allow UTF-8 characters in metric and label names.',
  },
  {
    name: 'push.max-body-bytes',
    kind: 'int',
    def: '67108864',
    help: 'Largest push body accepted, in bytes, before and after decompression (413 beyond).',
  },
  {
    name: 'push.max-series-per-push',
    kind: 'int',
    def: '1000000',
    help: 'Most series one push may carry (413 beyond).',
  },
  {
    name: 'push.max-name-length',
    kind: 'int',
    def: '1024',
    help: 'Longest metric or label name accepted, in bytes (400 beyond).',
  },
  {
    name: 'push.max-label-value-length',
    kind: 'int',
    def: '65536',
    help: 'Longest label value accepted, in bytes, grouping values included (400 beyond).',
  },
  {
    name: 'push.max-groups',
    kind: 'int',
    def: '0',
    zeroOff: true,
    help: 'Most groups stored; pushes that would add a group beyond are refused (503). 0: no limit.',
  },
  {
    name: 'push.max-total-series',
    kind: 'int',
    def: '0',
    zeroOff: true,
    help:
      'Most series stored (2 push-time series per group included); ' +
      'pushes that would add series beyond are refused (503). 0: no limit.',
  },
  {
    name: 'push.memory-guard-percent',
    kind: 'int',
    def: '80',
    zeroOff: true,
    help:
      'Refuse pushes that add groups or series (503) while the heap, after a collection, is this full ' +
      "(percent of its limit, node's --max-old-space-size). 0: off.",
  },
  {
    name: 'push.default-ttl',
    kind: 'duration',
    def: '0s',
    help:
      'Remove a group this long after its last successful push, unless a push set its own with the ' +
      'Pushgateway-TTL header. 0s: never (as upstream).',
  },
  {
    name: 'web.max-connections',
    kind: 'int',
    def: '1024',
    help: 'Most client connections open at once; at the limit a newcomer takes the place of the longest idle, slowest or busiest-source connection, else it is refused.',
  },
  {
    name: 'web.min-upload-rate',
    kind: 'int',
    def: '1024',
    help: 'Bytes per second a request body must average after its first 10 s, else it is answered 408 and its connection closed.',
  },
  {
    name: 'web.read-header-timeout',
    kind: 'duration',
    def: '20s',
    help: 'Time a client has to send the request headers.',
  },
  {
    name: 'web.read-timeout',
    kind: 'duration',
    def: '2m',
    help: 'Time a client has to send a whole request, body included.',
  },
  {
    name: 'web.idle-timeout',
    kind: 'duration',
    def: '65s',
    help: 'How long an idle keep-alive connection stays open.',
  },
  {
    name: 'log.level',
    kind: 'enum',
    def: 'info',
    values: ['debug', 'info', 'warn', 'error'],
    help: 'Only log messages with the given severity or above. One of: [debug, info, warn, error]',
  },
  {
    name: 'log.format',
    kind: 'enum',
    def: 'logfmt',
    values: ['logfmt', 'json'],
    help: 'Output format of log messages. One of: [logfmt, json]',
  },
  {
    name: 'web.probes-without-auth',
    kind: 'bool',
    def: 'false',
    help: 'Answer /-/healthy and /-/ready without credentials when the web config file asks for them (for Kubernetes probes).',
  },
  {
    name: 'log.audit',
    kind: 'bool',
    def: 'false',
    help: 'Log every push, delete, wipe and expiry with its credential, source and group, and failed authentications (rate-limited per source).',
  },
];

export class UsageError extends Error {}

export type ParseOutcome = { kind: 'run'; config: Config } | { kind: 'help' } | { kind: 'man' } | { kind: 'version' };

function computeRoutePrefix(prefix: string, externalPath: string): string {
  let p = prefix === '' ? externalPath : prefix;
  if (p === '/') p = '';
  if (p !== '') p = '/' + p.replace(/^\/+|\/+$/g, '');
  return p;
}

/**
 * Reads the command line as kingpin 2.2 (the reference's) does: `--version`, `--help-long` and
 * `--help-man` act as soon as they are read, `--help` once the whole line has been read; a flag's
 * value may not look like a flag; after `--` every word is an unexpected argument; values are
 * checked afterwards, in command-line order. Bool flags also take `=true`/`=false` (later
 * kingpin versions do); any other `=value` is an unexpected argument, as kingpin 2.2 reads it.
 */
export function parseArgs(argv: string[]): ParseOutcome {
  const values = new Map<string, string[]>();
  const byName = new Map(FLAGS.map((f) => [f.name, f]));
  let help = false;
  let argsOnly = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (argsOnly || !arg.startsWith('-')) throw new UsageError(`unexpected ${arg}`);
    if (arg === '--') {
      argsOnly = true;
      continue;
    }
    if (!arg.startsWith('--')) {
      if (arg === '-') throw new UsageError(`unknown short flag '-'`);
      for (const c of arg.slice(1)) {
        if (c !== 'h') throw new UsageError(`unknown short flag '-${c}'`);
        help = true;
      }
      continue;
    }
    const eq = arg.indexOf('=');
    let name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    if (name === 'version') return { kind: 'version' };
    if (name === 'help-long') return { kind: 'help' };
    if (name === 'help-man') return { kind: 'man' };
    if (name === 'help') {
      if (eq >= 0) throw new UsageError(`unexpected ${arg.slice(eq + 1)}`);
      help = true;
      continue;
    }
    let negated = false;
    if (!byName.has(name) && name.startsWith('no-') && byName.get(name.slice(3))?.kind === 'bool') {
      name = name.slice(3);
      negated = true;
    }
    const spec = byName.get(name);
    if (spec === undefined) throw new UsageError(`unknown long flag '--${name}'`);
    let value: string;
    if (spec.kind === 'bool') {
      const given = eq < 0 ? 'true' : arg.slice(eq + 1);
      if (given !== 'true' && given !== 'false') throw new UsageError(`unexpected ${given}`);
      value = String((given === 'true') !== negated);
    } else if (eq >= 0) {
      value = arg.slice(eq + 1);
    } else {
      if (i + 1 >= argv.length || argv[i + 1].startsWith('-')) {
        throw new UsageError(`expected argument for flag '--${name}'`);
      }
      value = argv[++i];
    }
    const list = values.get(name) ?? [];
    if (spec.kind !== 'strings' && list.length > 0) throw new UsageError(`flag '${name}' cannot be repeated`);
    list.push(value);
    values.set(name, list);
  }
  if (help) return { kind: 'help' };
  // Map order is the order flags were first given: kingpin reports the first bad value given.
  for (const [name, given] of values) checkValue(byName.get(name)!, given[0]);
  const get = (name: string) => values.get(name)?.[0] ?? byName.get(name)!.def;
  const flags: Record<string, string> = {};
  for (const spec of FLAGS) {
    const v = values.get(spec.name);
    flags[spec.name] = spec.kind === 'strings' ? (v ?? [spec.def]).join('\n') : get(spec.name);
  }
  for (const spec of FLAGS) {
    if (spec.kind === 'duration') flags[spec.name] = formatGoDuration(parseDuration(get(spec.name)));
  }
  const int = (name: string) => Number(get(name));
  const intervalMs = parseDuration(get('persistence.interval'));
  if (get('persistence.sync') === 'true' && get('persistence.file') === '') {
    throw new UsageError('--persistence.sync needs --persistence.file');
  }
  const redis = redisConfig(get);
  if (redis !== undefined) {
    if (get('persistence.file') !== '') {
      throw new UsageError('--persistence.file cannot be used with Redis (--storage.redis.*): Redis keeps the metrics');
    }
    flags['storage.redis.url'] = maskedUrl(redis.url);
  }
  const defaultTtlMs = parseDuration(get('push.default-ttl'));
  if (defaultTtlMs < 0) throw new UsageError('--push.default-ttl must not be negative');
  if (int('push.memory-guard-percent') > 100) throw new UsageError('--push.memory-guard-percent is at most 100');
  flags['persistence.interval'] = formatGoDuration(intervalMs);
  const externalUrl = get('web.external-url');
  const externalPath = goUrlPath(externalUrl);
  return {
    kind: 'run',
    config: {
      listenAddresses: values.get('web.listen-address') ?? [':9091'],
      systemdSocket: get('web.systemd-socket') === 'true',
      webConfigFile: get('web.config.file'),
      telemetryPath: get('web.telemetry-path'),
      externalUrl,
      routePrefix: computeRoutePrefix(get('web.route-prefix'), externalPath),
      externalPrefix: computeRoutePrefix('', externalPath),
      enableLifecycle: get('web.enable-lifecycle') === 'true',
      enableAdminApi: get('web.enable-admin-api') === 'true',
      enableOpenMetrics: get('web.enable-openmetrics') === 'true',
      persistenceFile: get('persistence.file'),
      persistenceIntervalMs: intervalMs,
      persistenceSync: get('persistence.sync') === 'true',
      persistenceStartEmptyOnError: get('persistence.start-empty-on-error') === 'true',
      ...(redis === undefined ? {} : { redis }),
      disableConsistencyCheck: get('push.disable-consistency-check') === 'true',
      utf8Names: get('push.enable-utf8-names') === 'true',
      limits: {
        maxBodyBytes: int('push.max-body-bytes'),
        maxSeries: int('push.max-series-per-push'),
        maxNameLength: int('push.max-name-length'),
        maxLabelValueLength: int('push.max-label-value-length'),
      },
      storeLimits: {
        maxGroups: int('push.max-groups'),
        maxTotalSeries: int('push.max-total-series'),
        memoryGuardPercent: int('push.memory-guard-percent'),
      },
      defaultTtlMs,
      web: {
        maxConnections: int('web.max-connections'),
        readHeaderTimeoutMs: parseDuration(get('web.read-header-timeout')),
        readTimeoutMs: parseDuration(get('web.read-timeout')),
        idleTimeoutMs: parseDuration(get('web.idle-timeout')),
        minUploadRate: int('web.min-upload-rate'),
      },
      logLevel: get('log.level') as Config['logLevel'],
      logFormat: get('log.format') as Config['logFormat'],
      probesWithoutAuth: get('web.probes-without-auth') === 'true',
      logAudit: get('log.audit') === 'true',
      flags,
    },
  };
}

function parseDuration(s: string): number {
  try {
    return parseGoDuration(s);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** A value as the flag's kingpin type (or promlog's, for the log flags) would refuse it. */
/** The --storage.redis.* flags, checked; undefined when Redis is not asked for. */
function redisConfig(get: (name: string) => string): RedisConfig | undefined {
  const url = get('storage.redis.url');
  const sentinelList = get('storage.redis.sentinels');
  const masterName = get('storage.redis.master-name');
  const tlsFlags = [
    'storage.redis.tls-ca-cert-file',
    'storage.redis.tls-cert-file',
    'storage.redis.tls-key-file',
    'storage.redis.tls-server-name',
  ].filter((n) => get(n) !== '');
  const others = [
    'storage.redis.password-file',
    'storage.redis.master-name',
    'storage.redis.sentinel-password-file',
  ].filter((n) => get(n) !== '');
  others.push(...tlsFlags);
  if (Number(get('storage.redis.min-replicas-acked')) > 0) others.push('storage.redis.min-replicas-acked');
  const sentinelTls = get('storage.redis.sentinel-tls') === 'true';
  if (sentinelTls) others.push('storage.redis.sentinel-tls');
  if (url === '' && sentinelList === '') {
    if (others.length > 0)
      throw new UsageError(`--${others[0]} needs --storage.redis.url or --storage.redis.sentinels`);
    return undefined;
  }
  if (url !== '' && !/^rediss?:\/\/[^/]/.test(url)) {
    throw new UsageError(`--storage.redis.url must be a redis:// or rediss:// URL, not ${goQuote(maskedUrl(url))}`);
  }
  const sentinels = sentinelList === '' ? [] : sentinelList.split(',').map(hostPort);
  if (sentinels.length > 0 && masterName === '') {
    throw new UsageError('--storage.redis.sentinels needs --storage.redis.master-name');
  }
  if (sentinels.length === 0 && masterName !== '') {
    throw new UsageError('--storage.redis.master-name needs --storage.redis.sentinels');
  }
  const sentinelPasswordFile = get('storage.redis.sentinel-password-file');
  if (sentinels.length === 0 && sentinelPasswordFile !== '') {
    throw new UsageError('--storage.redis.sentinel-password-file needs --storage.redis.sentinels');
  }
  if (sentinels.length === 0 && sentinelTls) {
    throw new UsageError('--storage.redis.sentinel-tls needs --storage.redis.sentinels');
  }
  // A TLS setting nothing would use is most likely a forgotten rediss:// or --storage.redis.sentinel-tls.
  if (tlsFlags.length > 0 && !url.startsWith('rediss://') && !sentinelTls) {
    throw new UsageError(
      `--${tlsFlags[0]} is only used over TLS: needs a rediss:// --storage.redis.url or --storage.redis.sentinel-tls`,
    );
  }
  if ((get('storage.redis.tls-cert-file') === '') !== (get('storage.redis.tls-key-file') === '')) {
    throw new UsageError('--storage.redis.tls-cert-file and --storage.redis.tls-key-file go together');
  }
  return {
    url: url === '' ? 'redis://localhost' : url,
    passwordFile: get('storage.redis.password-file'),
    sentinels,
    masterName,
    sentinelPasswordFile,
    sentinelTls,
    tls: {
      caCertFile: get('storage.redis.tls-ca-cert-file'),
      certFile: get('storage.redis.tls-cert-file'),
      keyFile: get('storage.redis.tls-key-file'),
      serverName: get('storage.redis.tls-server-name'),
    },
    minReplicasAcked: Number(get('storage.redis.min-replicas-acked')),
  };
}

function hostPort(s: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):([0-9]{1,5})$/.exec(s.trim());
  if (m === null || Number(m[2]) > 65535) {
    throw new UsageError(`--storage.redis.sentinels: ${goQuote(s)} is not host:port`);
  }
  return { host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

/** The URL with its password replaced, for logs and the status page. */
export function maskedUrl(url: string): string {
  return url.replace(/^(rediss?:\/\/[^:@/]*:)[^@/]*@/, '$1xxxxx@');
}

function checkValue(spec: FlagSpec, v: string): void {
  if (spec.kind === 'duration') parseDuration(v);
  if (spec.kind === 'url') goUrlPath(v);
  if (spec.name === 'log.level' && !spec.values!.includes(v))
    throw new UsageError(`unrecognized log level ${goQuote(v)}`);
  if (spec.name === 'log.format' && !spec.values!.includes(v)) {
    throw new UsageError(`unrecognized log format ${goQuote(v)}`);
  }
  if (spec.kind === 'int') {
    if (!/^[+-]?[0-9]+$/.test(v)) throw new UsageError(`strconv.ParseInt: parsing ${goQuote(v)}: invalid syntax`);
    const least = spec.zeroOff ? 0 : 1;
    if (Number(v) < least)
      throw new UsageError(`value ${v} for flag --${spec.name} is out of range: at least ${least}`);
  }
}

/**
 * The path of a --web.external-url as Go's url.Parse reads it (a relative URL such as `foo` is
 * accepted, its path is `foo`), refusing what it refuses in its words.
 */
function goUrlPath(raw: string): string {
  const fail = (why: string): never => {
    throw new UsageError(`invalid URL: parse ${goQuote(raw)}: ${why}`);
  };
  if (/[\x00-\x1f\x7f]/.test(raw)) fail('net/url: invalid control character in URL');
  const bad = /%(?![0-9A-Fa-f]{2})/.exec(raw);
  if (bad !== null) fail(`invalid URL escape ${goQuote(raw.slice(bad.index, bad.index + 3))}`);
  let rest = raw.replace(/#.*$/s, '');
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(rest);
  if (rest.startsWith(':')) fail('missing protocol scheme');
  if (scheme !== null) rest = rest.slice(scheme[0].length);
  rest = rest.replace(/\?.*$/s, '');
  if (rest.startsWith('//')) {
    const slash = rest.indexOf('/', 2);
    const authority = slash < 0 ? rest.slice(2) : rest.slice(2, slash);
    const host = authority.slice(authority.lastIndexOf('@') + 1);
    if (host.startsWith('[') && !host.includes(']')) fail("missing ']' in host");
    rest = slash < 0 ? '' : rest.slice(slash);
  }
  return decodeURIComponent(rest);
}

/** Kingpin's two help columns: flags indented 2, texts from column 33 wrapped to 47 (80 wide). */
function flagRows(): Array<[string, string]> {
  const rows: Array<[string, string]> = [
    ['-h, --help', 'Show context-sensitive help (also try --help-long and --help-man).'],
  ];
  for (const f of FLAGS) rows.push([`    ${flagHead(f)}`, f.help]);
  rows.push(['    --version', 'Show application version.']);
  return rows;
}

function flagHead(f: FlagSpec): string {
  if (f.kind === 'bool') return `--${f.name}`;
  const quoted = f.kind === 'string';
  return `--${f.name}=${quoted ? JSON.stringify(f.def) : f.def}${f.kind === 'strings' ? ' ...' : ''}`;
}

/** Words into lines of at most `width` characters (a longer word gets a line of its own). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  return [...lines, line];
}

/** `--help` and `--help-long` (the same without commands), laid out as kingpin does at 80 columns. */
export function helpText(app: string): string {
  const out = [`usage: ${app} [<flags>]`, '', 'The Pushgateway', '', 'Flags:'];
  const col = 29;
  for (const [head, help] of flagRows()) {
    const [first, ...more] = wrap(help, 80 - 2 - col - 2);
    out.push(`  ${head.padEnd(col)}  ${head.length >= 30 ? `\n${' '.repeat(col + 4)}` : ''}${first}`);
    for (const line of more) out.push(' '.repeat(col + 4) + line);
  }
  return out.join('\n') + '\n\n';
}

/** `--help-man`: kingpin's man page, whose .TH line carries the version text as kingpin puts it. */
export function manText(app: string, version: string): string {
  const out = [`.TH ${app} 1 ${version} ""`, '.SH "NAME"', app, '.SH "SYNOPSIS"', '.TP'];
  out.push(`\\fB${app} [<flags>]\\fR`, '', '.SH "DESCRIPTION"', 'The Pushgateway', '.SH "OPTIONS"');
  // The man page shows no `...` after a repeatable flag.
  for (const [head, help] of flagRows()) out.push('.TP', `\\fB${head.trim().replace(/ \.\.\.$/, '')}\\fR`, help);
  return out.join('\n') + '\n';
}

/** GOOS/GOARCH as Go names them (the reference's `platform`). */
export function platform(): string {
  const arch = ({ x64: 'amd64', ia32: '386' } as Record<string, string>)[process.arch] ?? process.arch;
  return `${process.platform}/${arch}`;
}

/** What the reference's --version prints (prometheus/common's version.Print), with our values. */
export function versionText(
  app: string,
  b: { version: string; revision: string; branch: string; buildUser: string; buildDate: string; goVersion: string },
): string {
  return [
    `${app}, version ${b.version} (branch: ${b.branch}, revision: ${b.revision})`,
    `  build user:       ${b.buildUser}`,
    `  build date:       ${b.buildDate}`,
    `  go version:       ${b.goVersion}`,
    `  platform:         ${platform()}`,
    '',
  ].join('\n');
}
