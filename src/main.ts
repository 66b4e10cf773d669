#!/usr/bin/env -S node --max-semi-space-size=1 --heap-growing-percent=20 --v8-pool-size=1
// The pushgateway command: parse flags, build the store and server, listen, shut down cleanly.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { helpText, parseArgs, UsageError } from './config.js';
import { createGateway, createGatewayServer, type ServerMaker } from './http/server.js';
import type { LiveWebConfig } from './http/webconfig.js';
import { createLogger } from './log.js';
import { createSelfMetrics, reservedFamilies, type BuildInfo } from './selfmetrics.js';
import { MemoryStore } from './store/memory.js';
import { collectWhenQuiet, fullGc } from './idlegc.js';
import { StoreLimits } from './store/limits.js';
import { DurableStore, PersistenceError } from './persist/durable.js';
import type { MetricStore } from './store/types.js';

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

/** ":9091" → all interfaces; "host:port" and "[::1]:port" as Go reads them. */
function splitListenAddress(addr: string): { host: string | undefined; port: number } {
  const i = addr.lastIndexOf(':');
  if (i < 0) throw new UsageError(`listen tcp: address ${addr}: missing port in address`);
  const host = addr.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  const port = Number(addr.slice(i + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`listen tcp: address ${addr}: invalid port`);
  return { host: host === '' ? undefined : host, port };
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
    process.stdout.write(`${APP}, version ${build.version} (node ${process.version})\n`);
    return;
  }
  const config = outcome.config;
  const log = createLogger(config.logLevel, config.logFormat);
  log.info({ version: build.version }, 'starting pushgateway');

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
  const guard = web === undefined ? undefined : webconfig!.webConfigGuard(web, log);

  let store: MetricStore | undefined;
  const limits = new StoreLimits(config.storeLimits, fullGc());
  const self = createSelfMetrics(build, {
    groups: () => store?.groupCount ?? 0,
    series: () => store?.seriesCount ?? 0,
    refusals: () => limits.refusals,
    expiry: () => store?.expiry,
  });
  const memory = new MemoryStore(await reservedFamilies(self), { utf8Names: config.utf8Names }, limits, {
    defaultTtlMs: config.defaultTtlMs,
  });
  try {
    store =
      config.persistenceFile === ''
        ? memory
        : await DurableStore.open(memory, {
            file: config.persistenceFile,
            intervalMs: config.persistenceIntervalMs,
            sync: config.persistenceSync,
            startEmptyOnError: config.persistenceStartEmptyOnError,
            log,
          });
  } catch (e) {
    if (e instanceof PersistenceError) {
      log.error({ err: e.message }, 'cannot restore metrics');
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
  });
  // With a web config file: HTTPS when it has a tls_server_config, else plain HTTP; its auth and
  // headers in front of every endpoint either way.
  const listener = guard === undefined ? gateway.handler : guard(gateway.handler);
  const make: ServerMaker | undefined =
    web === undefined ? undefined : (options, l) => webconfig!.createWebServer(web, l, log, options);
  const servers = config.listenAddresses.map((addr) => {
    const server = createGatewayServer(listener, config.web, make, log);
    const tls = web !== undefined && web.current.tls !== null;
    const { host, port } = splitListenAddress(addr);
    server.on('error', (err) => {
      log.error({ err: err.message }, 'HTTP server stopped');
      process.exit(1);
    });
    // Go asks for the kernel's most (net.core.somaxconn); Node's 511 drops SYNs when a crowd
    // reconnects at once, and a client whose SYN is dropped waits a second to try again.
    server.listen({ port, host, backlog: 65535 }, () => {
      const a = server.address() as AddressInfo;
      log.info({ address: `${a.address}:${a.port}` }, 'listening');
      // As the reference logs it; HTTP/2 is not served (see src/http/webconfig.ts).
      log.info({ http2: false, address: `${a.address}:${a.port}` }, tls ? 'TLS is enabled.' : 'TLS is disabled.');
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

main().catch((e: unknown) => {
  process.stderr.write(`${APP}: error: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
