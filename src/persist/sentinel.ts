// Finding the Redis master through Sentinel (docs/replicas.md, "Sentinel"). The Redis store asks
// the Sentinels for the master's address and talks to it with plain clients, asking again while
// it cannot reach it and whenever a Sentinel announces +switch-master. @redis/client's own
// createSentinel is not used: its commands wait while it rediscovers (a push would hang through a
// failover instead of answering 503 at once), and its pooled connections would send WAIT on
// another connection than the commit it is meant to cover.
import type { ConnectionOptions } from 'node:tls';
import { createClient } from '@redis/client';

export interface Address {
  host: string;
  port: number;
}

export interface SentinelSettings {
  sentinels: Address[];
  masterName: string;
  /** --storage.redis.sentinel-password-file: the Sentinels' own password (requirepass). */
  password?: string;
  /** --storage.redis.sentinel-tls: CA, client certificate and server name to reach them over TLS; absent: plain TCP. */
  tls?: ConnectionOptions;
}

/**
 * Every Sentinel answered, and each answer shows a setting to fix (no master of that name, a TLS
 * certificate refused either way): not an outage to wait out.
 */
export class SentinelSettingError extends Error {}

/**
 * What a failure to reach a server over TLS says about the --storage.redis.tls-* settings, or
 * undefined if it is not about them (a refused or lost connection may be an outage).
 */
function tlsTrouble(e: Error): string | undefined {
  const code = (e as NodeJS.ErrnoException).code ?? '';
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return `its certificate is not for this address (${e.message}); --storage.redis.tls-server-name names what it holds`;
  }
  if (/CERT|^UNABLE_TO_/.test(code) && !code.startsWith('ERR_SSL_')) {
    return `its certificate is not trusted (${e.message}); check --storage.redis.tls-ca-cert-file`;
  }
  if (/^ERR_SSL_.*(CERTIFICATE|UNKNOWN_CA)/.test(code)) {
    return (
      `it refused our client certificate (TLS alert ${code.replace(/^ERR_SSL_(SSLV3_|TLSV1\d?_)?ALERT_/, '')}); ` +
      'check --storage.redis.tls-cert-file and --storage.redis.tls-key-file'
    );
  }
  return undefined;
}

/** How long one Sentinel may take to connect and answer before the next one is asked. */
const ASK_MS = 1000;

export function addressText(a: Address): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

function sentinelClient(s: SentinelSettings, at: Address, reconnect: boolean) {
  const c = createClient({
    RESP: 2,
    ...(s.password === undefined ? {} : { password: s.password }),
    socket: {
      host: at.host,
      port: at.port,
      ...(s.tls === undefined ? {} : { tls: true as const, ...s.tls }),
      connectTimeout: ASK_MS,
      reconnectStrategy: reconnect ? (retries: number) => Math.min(100 * 2 ** retries, 2000) : false,
    },
  });
  // Failures show where the client is used; an unheard 'error' event would end the process.
  c.on('error', () => undefined);
  return c;
}

/** Asks the Sentinels in turn for the master's address; the first that knows it answers. */
export async function askMaster(s: SentinelSettings): Promise<Address> {
  const failures: string[] = [];
  let unknown = 0;
  let refused = 0;
  for (const at of s.sentinels) {
    const c = sentinelClient(s, at, false);
    let timer: NodeJS.Timeout | undefined;
    try {
      const reply = await Promise.race([
        c.connect().then(() => c.sendCommand(['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', s.masterName])),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${ASK_MS} ms`)), ASK_MS);
        }),
      ]);
      if (Array.isArray(reply) && reply.length === 2) return { host: String(reply[0]), port: Number(reply[1]) };
      unknown++;
      failures.push(`${addressText(at)}: no master of that name`);
    } catch (e) {
      const trouble = tlsTrouble(e as Error);
      if (trouble !== undefined) refused++;
      failures.push(`${addressText(at)}: ${trouble ?? (e as Error).message}`);
    } finally {
      clearTimeout(timer);
      c.destroy();
    }
  }
  const asked = `asked ${failures.join('; ')}`;
  if (unknown === s.sentinels.length) {
    throw new SentinelSettingError(
      `no Redis Sentinel knows a master named ${JSON.stringify(s.masterName)} (${asked}); ` +
        'check --storage.redis.master-name against the Sentinels\' "sentinel monitor" lines',
    );
  }
  if (unknown + refused === s.sentinels.length) {
    throw new SentinelSettingError(
      `no Redis Sentinel could be asked for the master ${JSON.stringify(s.masterName)} (${asked})`,
    );
  }
  throw new Error(`no Redis Sentinel told the address of the master ${JSON.stringify(s.masterName)} (${asked})`);
}

/** The master a Sentinel event is about: "master NAME ip port ..." or "<instance> ... @ NAME ip port". */
function eventMaster(message: string): string | undefined {
  const words = message.split(' ');
  const at = words.indexOf('@');
  return at >= 0 ? words[at + 1] : words[0] === 'master' ? words[1] : undefined;
}

/**
 * Tells what the Sentinels announce about the master, from every Sentinel (each client
 * reconnects and subscribes again by itself): `started` when one tries a failover (+try-failover),
 * `named` when one names a new master (+failover-state-reconf-slaves: the promoted replica took
 * over; +switch-master: the failover is over) or gave up (-failover-abort-*). Returns the stop.
 */
export function watchFailovers(s: SentinelSettings, on: { started: () => void; named: () => void }): () => void {
  const clients = s.sentinels.map((at) => {
    const c = sentinelClient(s, at, true);
    c.connect().catch(() => undefined);
    c.pSubscribe(
      ['+try-failover', '+failover-state-reconf-slaves', '+switch-master', '-failover-abort-*'],
      (message: string, channel: string) => {
        const name = channel === '+switch-master' ? message.split(' ')[0] : eventMaster(message);
        if (name !== s.masterName) return;
        if (channel === '+try-failover') on.started();
        else on.named();
      },
    ).catch(() => undefined);
    return c;
  });
  return () => {
    for (const c of clients) c.destroy();
  };
}
