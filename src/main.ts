#!/usr/bin/env -S node --max-semi-space-size=4 --heap-growing-percent=20 --v8-pool-size=1
// The pushgateway command: parse flags, build the store and server, listen, shut down cleanly.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createSecureContext, type ConnectionOptions } from 'node:tls';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import {
  helpText,
  manText,
  maskedUrl,
  parseArgs,
  platform,
  UsageError,
  versionText,
  type RedisConfig,
} from './config.js';
import { joinHostPort } from './lib/hostport.js';
import { activationFds, clearActivationEnv } from './lib/activation.js';
import { createGateway, createGatewayServer, probePaths, type ServerMaker } from './http/server.js';
import { AuditLog } from './http/audit.js';
import { heapRoom } from './http/heaproom.js';
import type { LiveWebConfig } from './http/webconfig.js';
import { createLogger } from './log.js';
import { createSelfMetrics, reservedFamilies, type BuildInfo } from './selfmetrics.js';
import { MemoryStore } from './store/memory.js';
import { collectWhenQuiet, fullGc } from './idlegc.js';
import { StoreLimits } from './store/limits.js';
import { DurableStore, PersistenceError } from './persist/durable.js';
import type { MetricStore } from './store/types.js';
import type { RedisStore } from './persist/redis.js';
import type { RedisMetrics } from './persist/redismetrics.js';
import type { Logger } from 'pino';

const APP = 'pushgateway';

function buildInfo(): BuildInfo {
  const pkgPath = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../package.json');
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as { version: string };
  return {
    version: pkg.version,
    revision: '',
    branch: '',
    buildUser: '',
    buildDate: '',
    goVersion: `node${process.versions.node}`,
  };
}

/** ":9091" → all interfaces; "host:port" and "[::1]:port" as Go reads them, refused in its words. */
function splitListenAddress(addr: string): { host: string | undefined; port: number } {
  const i = addr.lastIndexOf(':');
  if (i < 0) throw new Error(`listen tcp: address ${addr}: missing port in address`);
  const host = addr.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  const text = addr.slice(i + 1);
  // Go looks a port that is not a number up as a service name.
  if (!/^[0-9]*$/.test(text)) throw new Error(`listen tcp: address tcp/${text}: unknown port`);
  const port = Number(text);
  if (port > 65535) throw new Error(`listen tcp: address ${text}: invalid port`);
  return { host: host === '' ? undefined : host, port };
}

/** A listen failure as Go's net package words it (the reference logs it so). */
function listenFailure(err: NodeJS.ErrnoException, host: string | undefined, port: number | undefined): string {
  const why: Record<string, string> = {
    EADDRINUSE: 'address already in use',
    EADDRNOTAVAIL: 'cannot assign requested address',
    EACCES: 'permission denied',
  };
  const words = err.code === undefined ? undefined : why[err.code];
  return words === undefined ? err.message : `listen tcp ${joinHostPort(host, port)}: bind: ${words}`;
}

async function main(): Promise<void> {
  let outcome;
  try {
    outcome = parseArgs(process.argv.slice(2));
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`${APP}: error: ${e.message}, try --help\n`);
      process.exit(1);
    }
    throw e;
  }
  const build = buildInfo();
  if (outcome.kind === 'help') {
    process.stdout.write(helpText(APP));
    return;
  }
  if (outcome.kind === 'version') {
    process.stdout.write(versionText(APP, build));
    return;
  }
  if (outcome.kind === 'man') {
    process.stdout.write(manText(APP, versionText(APP, build).trimEnd()));
    return;
  }
  const config = outcome.config;
  const log = createLogger(config.logLevel, config.logFormat);
  // The reference's first lines, in its words (prometheus/common's version.Info and BuildContext).
  log.info(
    { version: `(version=${build.version}, branch=${build.branch}, revision=${build.revision})` },
    'starting pushgateway',
  );
  log.info({
    build_context: `(go=${build.goVersion}, platform=${platform()}, user=${build.buildUser}, date=${build.buildDate})`,
  });
  log.debug({ url: config.externalUrl }, 'external URL');
  log.debug({ path: config.externalPrefix }, 'path prefix used externally');
  log.debug({ path: config.routePrefix }, 'path prefix for internal routing');

  // --web.config.file: checked before anything else starts; an invalid file stops the start.
  // Loaded only when used: its YAML and bcrypt libraries cost memory that most setups never need.
  const webconfig = config.webConfigFile === '' ? undefined : await import('./http/webconfig.js');
  let web: LiveWebConfig | undefined;
  if (webconfig !== undefined) {
    const { LiveWebConfig, WebConfigError } = webconfig;
    try {
      web = LiveWebConfig.open(config.webConfigFile, log);
    } catch (e) {
      if (e instanceof WebConfigError) {
        log.error({ file: e.file, err: e.detail }, 'invalid web config file');
        process.stderr.write(`${APP}: error: ${e.message}\n`);
        process.exit(1);
      }
      throw e;
    }
  }
  const audit = config.logAudit ? new AuditLog(log) : undefined;
  const guard =
    web === undefined
      ? undefined
      : webconfig!.webConfigGuard(web, log, undefined, {
          audit,
          openPaths: config.probesWithoutAuth ? probePaths(config.routePrefix) : undefined,
        });

  let store: MetricStore | undefined;
  const limits = new StoreLimits(config.storeLimits, fullGc());
  const self = createSelfMetrics(build, {
    groups: () => store?.groupCount ?? 0,
    series: () => store?.seriesCount ?? 0,
    refusals: () => limits.refusals,
    expiry: () => store?.expiry,
  });
  // Registered before the reserved families are read: pushes must agree with these too.
  let redisStore: RedisStore | undefined;
  const redisMetrics =
    config.redis === undefined
      ? undefined
      : (await import('./persist/redismetrics.js')).registerRedisMetrics(self.registry, () => redisStore);
  const reserved = await reservedFamilies(self);
  const memory = (remove?: (ids: string[]) => void) =>
    new MemoryStore(reserved, { utf8Names: config.utf8Names }, limits, {
      defaultTtlMs: config.defaultTtlMs,
      ...(remove === undefined ? {} : { remove }),
    });
  try {
    store =
      config.redis !== undefined
        ? (redisStore = await openRedis(config.redis, memory, log, redisMetrics))
        : config.persistenceFile === ''
          ? memory()
          : await DurableStore.open(memory(), {
              file: config.persistenceFile,
              intervalMs: config.persistenceIntervalMs,
              sync: config.persistenceSync,
              startEmptyOnError: config.persistenceStartEmptyOnError,
              log,
            });
  } catch (e) {
    if (e instanceof PersistenceError || e instanceof RedisConfigError) {
      log.error({ err: e.message }, e instanceof RedisConfigError ? 'cannot use Redis' : 'cannot restore metrics');
      process.stderr.write(`${APP}: error: ${e.message}\n`);
      process.exit(1);
    }
    throw e;
  }
  collectWhenQuiet(store);
  const gateway = createGateway({
    config,
    store,
    self,
    build,
    log,
    startMs: Date.now(),
    quit: () => shutdown('received termination request via web service, exiting gracefully...'),
    audit,
  });
  // With a web config file: HTTPS when it has a tls_server_config, else plain HTTP; its auth and
  // headers in front of every endpoint either way.
  const listener = guard === undefined ? gateway.handler : guard(gateway.handler);
  const make: ServerMaker | undefined =
    web === undefined ? undefined : (options, l) => webconfig!.createWebServer(web, l, log, options);
  // --web.systemd-socket: serve on the sockets systemd passed instead of the listen addresses.
  let targets: Array<{ fd: number } | { port: number; host: string | undefined }>;
  if (config.systemdSocket) {
    log.info('Listening on systemd activated listeners instead of port listeners.');
    const fds = activationFds(process.env, process.pid);
    clearActivationEnv(process.env);
    if (fds.length === 0) {
      log.error({ err: 'no socket activation file descriptors found' }, 'HTTP server stopped');
      process.exit(1);
    }
    targets = fds.map((fd) => ({ fd }));
  } else {
    try {
      targets = config.listenAddresses.map(splitListenAddress);
    } catch (e) {
      log.error({ err: (e as Error).message }, 'HTTP server stopped');
      process.exit(1);
    }
  }
  const tls = web !== undefined && web.current.tls !== null;
  const servers = targets.map((target) => {
    const server = createGatewayServer(listener, config.web, make, log, guard?.gate);
    server.on('error', (err) => {
      const { host, port } = 'fd' in target ? { host: undefined, port: undefined } : target;
      log.error({ err: listenFailure(err, host, port) }, 'HTTP server stopped');
      process.exit(1);
    });
    // Go asks for the kernel's most (net.core.somaxconn); Node's 511 drops SYNs when a crowd
    // reconnects at once, and a client whose SYN is dropped waits a second to try again.
    server.listen({ ...target, backlog: 65535 }, () => {
      const a = server.address();
      const address = typeof a === 'string' || a === null ? String(a) : joinHostPort(a.address, a.port);
      log.info({ address }, 'Listening on');
      // As the reference logs it; HTTP/2 is not served (see src/http/webconfig.ts).
      log.info({ http2: false, address }, tls ? 'TLS is enabled.' : 'TLS is disabled.');
    });
    return server;
  });

  let stopping = false;
  function shutdown(reason: string): void {
    if (stopping) return;
    stopping = true;
    log.info(reason);
    web?.close();
    let open = servers.length;
    const finish = () => {
      log.info('HTTP server stopped');
      gateway.close();
      store!
        .close()
        .then(() => process.exit(0))
        .catch((e: unknown) => {
          log.error({ err: String(e) }, 'error persisting metrics');
          process.exit(1);
        });
    };
    for (const s of servers) {
      s.close(() => {
        if (--open === 0) finish();
      });
      s.closeIdleConnections();
    }
    // Connections still busy after 5 s are cut; the store is persisted all the same.
    setTimeout(() => {
      for (const s of servers) s.closeAllConnections();
    }, 5000).unref();
  }
  process.on('SIGTERM', () => shutdown('received SIGINT/SIGTERM; exiting gracefully...'));
  process.on('SIGINT', () => shutdown('received SIGINT/SIGTERM; exiting gracefully...'));
}

class RedisConfigError extends Error {}

/** The Redis store of --storage.redis.* (docs/replicas.md); the password file is read here, never logged. */
async function openRedis(
  config: RedisConfig,
  memory: (remove: (ids: string[]) => void) => MemoryStore,
  log: Logger,
  metrics: RedisMetrics | undefined,
): Promise<RedisStore> {
  const read = async (flag: string, file: string) => {
    if (file === '') return undefined;
    try {
      return await readFile(file);
    } catch (e) {
      throw new RedisConfigError(`cannot read --${flag}: ${(e as Error).message}`);
    }
  };
  const secret = async (flag: string, file: string) => (await read(flag, file))?.toString('utf8').replace(/\r?\n$/, '');
  const password = await secret('storage.redis.password-file', config.passwordFile);
  const sentinelPassword = await secret('storage.redis.sentinel-password-file', config.sentinelPasswordFile);
  const tls = await redisTls(config.tls, read);
  log.info(
    {
      url: maskedUrl(config.url),
      sentinels: config.sentinels.map((s) => `${s.host}:${s.port}`).join(','),
      masterName: config.masterName,
    },
    'keeping the metrics in Redis',
  );
  // Loaded only when asked for: the embedded store never loads the Redis client.
  const { RedisStore } = await import('./persist/redis.js');
  const { SentinelSettingError } = await import('./persist/sentinel.js');
  return RedisStore.open(
    {
      url: config.url,
      ...(password === undefined ? {} : { password }),
      sentinels: config.sentinels,
      masterName: config.masterName,
      ...(sentinelPassword === undefined ? {} : { sentinelPassword }),
      ...(config.url.startsWith('rediss://') ? { tls } : {}),
      ...(config.sentinelTls ? { sentinelTls: tls } : {}),
      minReplicasAcked: config.minReplicasAcked,
      loadInBackground: true,
      heapRoom,
      log,
      ...metrics,
    },
    memory,
  ).catch((e: unknown) => {
    throw e instanceof SentinelSettingError ? new RedisConfigError(e.message) : e;
  });
}

/**
 * The --storage.redis.tls-* settings as TLS options, checked now: a file that cannot work stops the
 * start instead of failing every connection later.
 */
async function redisTls(
  files: RedisConfig['tls'],
  read: (flag: string, file: string) => Promise<Buffer | undefined>,
): Promise<ConnectionOptions> {
  const ca = await read('storage.redis.tls-ca-cert-file', files.caCertFile);
  const cert = await read('storage.redis.tls-cert-file', files.certFile);
  const key = await read('storage.redis.tls-key-file', files.keyFile);
  // Node would ignore a CA file without a certificate and trust nothing: say so instead.
  if (ca !== undefined && !ca.includes('-----BEGIN CERTIFICATE-----')) {
    throw new RedisConfigError('--storage.redis.tls-ca-cert-file holds no PEM certificate');
  }
  const options: ConnectionOptions = {
    ...(ca === undefined ? {} : { ca }),
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }),
    ...(files.serverName === '' ? {} : { servername: files.serverName }),
  };
  try {
    createSecureContext(options);
  } catch (e) {
    throw new RedisConfigError(
      `cannot use --storage.redis.tls-cert-file and --storage.redis.tls-key-file: ${(e as Error).message}`,
    );
  }
  return options;
}

main().catch((e: unknown) => {
  process.stderr.write(`${APP}: error: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
