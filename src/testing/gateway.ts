// Test support: a whole gateway built in-process from command-line flags, as main.ts builds it but
// without a socket, persistence or logs. The only place tests depend on how the gateway is put
// together: when that changes, this factory changes and the tests stay as they are.
import type { RequestListener } from 'node:http';
import type { Readable } from 'node:stream';
import { after } from 'node:test';
import { pino, type Logger } from 'pino';
import { parseArgs } from '../config.js';
import { createGateway, probePaths } from '../http/server.js';
import { AuditLog } from '../http/audit.js';
import { BcryptPool } from '../http/bcryptpool.js';
import { Authenticator, LiveWebConfig, webConfigGuard } from '../http/webconfig.js';
import { createSelfMetrics, reservedFamilies, type BuildInfo } from '../selfmetrics.js';
import { MemoryStore } from '../store/memory.js';
import { StoreLimits } from '../store/limits.js';
import type { MetricStore } from '../store/types.js';
import { inject, type InjectReply } from './inject.js';

export const TEST_BUILD: BuildInfo = {
  version: '0.0.0-test',
  revision: 'rev',
  branch: 'test',
  buildUser: 'tester',
  buildDate: '20260101-00:00:00',
  goVersion: `node${process.versions.node}`,
};

export interface TestGateway {
  store: MetricStore;
  /** The request listener, for a test that needs a real server in front of it. */
  listener: RequestListener;
  /** How often an allowed /-/quit asked the process to stop. */
  readonly quits: number;
  /** With --web.config.file: the file as loaded (reload() applies a change at once). */
  web: LiveWebConfig | undefined;
  request(
    method: string,
    url: string,
    body?: string | Uint8Array | Readable,
    headers?: Record<string, string>,
  ): Promise<InjectReply>;
  /**
   * The pushed families of a text scrape (the gateway's own left out), each non-zero push time
   * checked to lie between the gateway's start and now and replaced by `<time>`, as the
   * conformance goldens show them.
   */
  pushed(text: string): string;
}

export interface TestGatewayOptions {
  /** Where the gateway logs (the audit lines of --log.audit among them); silent by default. */
  log?: Logger;
  /** Who requests come from (remote address), unless a request says. */
  remoteAddress?: string;
}

export async function testGateway(flags: string[] = [], options: TestGatewayOptions = {}): Promise<TestGateway> {
  const outcome = parseArgs(flags);
  if (outcome.kind !== 'run') throw new Error(`flags ${flags.join(' ')} do not start a gateway`);
  const { config } = outcome;
  if (config.persistenceFile !== '') throw new Error('persistence is tested on real processes, not in-process');
  const startMs = Date.now();
  // The self-metrics count the store, which needs the self-metrics' names first.
  const counted: { store?: MemoryStore } = {};
  // No collections forced here: the memory guard reads the test process's heap as it is.
  const limits = new StoreLimits(config.storeLimits);
  const self = createSelfMetrics(TEST_BUILD, {
    groups: () => counted.store?.groupCount ?? 0,
    series: () => counted.store?.seriesCount ?? 0,
    refusals: () => limits.refusals,
    expiry: () => counted.store?.expiry,
  });
  const reserved = await reservedFamilies(self);
  const store = new MemoryStore(reserved, { utf8Names: config.utf8Names }, limits, {
    defaultTtlMs: config.defaultTtlMs,
  });
  counted.store = store;
  let quits = 0;
  const log = options.log ?? pino({ level: 'silent' });
  const audit = config.logAudit ? new AuditLog(log) : undefined;
  const gateway = createGateway({
    config,
    store,
    self,
    build: TEST_BUILD,
    log,
    startMs,
    quit: () => quits++,
    audit,
  });
  // --web.config.file as main.ts applies it, without watching the file: reload() is called by the test.
  const web =
    config.webConfigFile === ''
      ? undefined
      : LiveWebConfig.open(config.webConfigFile, log, { pollMs: 0, watch: false });
  const pool = web === undefined ? undefined : new BcryptPool({ log });
  const listener =
    web === undefined
      ? gateway.handler
      : webConfigGuard(web, log, new Authenticator(100, pool), {
          audit,
          openPaths: config.probesWithoutAuth ? probePaths(config.routePrefix) : undefined,
        })(gateway.handler);
  const ownNames = new Set(reserved.keys());
  const built = store;
  // Closed after the test that built it (built in a hook: after the file), so no test forgets to.
  after(async () => {
    gateway.close();
    web?.close();
    await pool?.close();
    return built.close();
  });
  return {
    store: built,
    listener,
    get quits() {
      return quits;
    },
    web,
    request: (method, url, body, headers) =>
      inject(listener, { method, url, body, headers, remoteAddress: options.remoteAddress }),
    pushed: (text) => pushedFamilies(text, ownNames, startMs),
  };
}

function pushedFamilies(text: string, own: Set<string>, startMs: number): string {
  const out: string[] = [];
  let keep = true;
  let family = '';
  for (const line of text.split('\n')) {
    const meta = /^# (?:HELP|TYPE) (\S+)/.exec(line);
    if (meta !== null && meta[1] !== family) {
      family = meta[1];
      keep = !own.has(family);
    }
    if (!keep || line === '') continue;
    out.push(/^push_(failure_)?time_seconds\{/.test(line) ? pushTime(line, startMs) : line);
  }
  return out.map((l) => l + '\n').join('');
}

function pushTime(line: string, startMs: number): string {
  const at = line.lastIndexOf(' ');
  const value = Number(line.slice(at + 1));
  if (value === 0) return line;
  const ms = value * 1000;
  if (!(ms >= startMs - 1 && ms <= Date.now() + 1)) throw new Error(`push time out of range: ${line}`);
  return line.slice(0, at) + ' <time>';
}
