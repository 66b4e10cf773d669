// The replica store (docs/replicas.md): any number of gateways share one Redis. Redis holds the
// truth: a version counter, a stream of every change numbered by version (the change feed), a
// snapshot of the groups at some version, and for each group and family name the version of the
// last change that touched it. Each replica keeps a MemoryStore as its read view (scrapes never
// ask Redis) that follows the feed in version order.
//
// A write is judged locally against the view at version V (MemoryStore.judge), and committed by a
// script that appends it only if nothing it was judged on (its group, the family names its
// verdict looked at, the set of groups when it creates one) changed after V; otherwise the view
// catches up and the write is judged again. So two conflicting pushes on two replicas can never
// both pass: the second is judged against the first. Only once Redis took the change is it
// applied to the view and answered (read your writes). Writes of one group keep their call order.
// While Redis cannot be reached, changes are refused (StoreUnavailableError, nothing applied),
// reads go on, and the store says it is not ready; it follows the feed again by itself, and
// reloads everything when it missed changes the feed no longer holds.
import { randomUUID } from 'node:crypto';
import type { ConnectionOptions } from 'node:tls';
import type { Logger } from 'pino';
import { createClient } from '@redis/client';
import { MemoryStore } from '../store/memory.js';
import { ViewedStore } from '../store/view.js';
import { groupId, groupShape } from '../store/grouping.js';
import {
  familiesOf,
  isTimeName,
  StoreUnavailableError,
  type ChangeRecord,
  type Group,
  type GroupingLabels,
  type GroupRecord,
  type MetricStore,
  type StoreHealth,
  type WriteRequest,
  type WriteResult,
} from '../store/types.js';
import { decodeLine, encodeLine } from './codec.js';
import { addressText, askMaster, SentinelSettingError, watchFailovers, type Address } from './sentinel.js';
import { freezeGroups } from './snapshot.js';
import { nowMs } from '../lib/wallclock.js';

export interface RedisStoreOptions {
  /** redis:// or rediss:// URL, with user:password@ and /db if needed. */
  url: string;
  /** Overrides the URL's password (--storage.redis.password-file). */
  password?: string;
  /**
   * Sentinels to ask for the master named `masterName` (none: `url` is the master; with them, only
   * the URL's credentials, TLS and database are used).
   */
  sentinels?: Address[];
  masterName?: string;
  /** The Sentinels' own password (--storage.redis.sentinel-password-file). */
  sentinelPassword?: string;
  /** CA, client certificate, server name for a rediss:// master (--storage.redis.tls-*). */
  tls?: ConnectionOptions;
  /** The same for the Sentinels, when they are reached over TLS (--storage.redis.sentinel-tls). */
  sentinelTls?: ConnectionOptions;
  /** After each commit, WAIT for this many Redis replicas to acknowledge it (0: no WAIT). */
  minReplicasAcked?: number;
  /**
   * open() resolves once connected, before the state is loaded (the store is not ready until then),
   * so a starting gateway answers /-/healthy during a long load.
   */
  loadInBackground?: boolean;
  /** Prefix of every key (tests and several gateways' sets on one Redis). */
  prefix?: string;
  log: Logger;
  /** How long the expiry lease lasts without renewal (renewed every third of it). */
  leaseMs?: number;
  /** How often the lease holder writes the snapshot and trims the feed. */
  compactMs?: number;
  /**
   * Widens the heap's growth step while the whole state is loaded (the gateway's HeapRoom): the
   * load builds the state at once, and at the gateway's 20 % step V8 marks the growing heap again
   * every fifth of the way (measured in process, 1,000,000 series: ~20 % of the load's CPU).
   */
  heapRoom?: { lease(): { widen(): void; release(): void } };
  /** Seconds of each commit's round trip to Redis (self-metrics). */
  onCommit?: (seconds: number) => void;
  /** Seconds from a change's commit (Redis' clock) until this replica applied it from the feed (self-metrics). */
  onFeedLag?: (seconds: number) => void;
}

/** Feed entries kept behind the snapshot, so that a replica a little behind need not reload. */
const FEED_MARGIN = 10_000;
/** How long a write waits for the view to catch up before it is refused. */
const CATCH_UP_MS = 5000;
/** Groups read from Redis (HSCAN) and decoded per turn while loading. */
const LOAD_SLICE = 500;
/** Bounds of one part of a snapshot: its records' bytes (Redis holds this much per script), and encoding time. */
const PART_BYTES = 256 * 1024;
const PART_MS = 5;
/** Attempts of a write whose judgement keeps being overtaken by other replicas' changes. */
const ATTEMPTS = 100;

// KEYS: version, deps, feed, epoch. ARGV: the epoch the view was loaded from, base version, number
// of dependencies, the dependencies, number of keys to stamp, those keys, then per change its
// record and its error ('' for none). Entries carry Redis' clock (t, ms) for the feed-lag metric. Applies only if no dependency (nor '*', stamped by a wipe)
// changed after the base version; {2} if Redis lost the state the view was loaded from.
const COMMIT = `
if redis.call('GET', KEYS[4]) ~= ARGV[1] then return {2, 0} end
local base = tonumber(ARGV[2])
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local n = tonumber(ARGV[3])
if cur > base then
  if tonumber(redis.call('HGET', KEYS[2], '*') or '0') > base then return {0, cur} end
  for i = 4, 3 + n do
    local v = redis.call('HGET', KEYS[2], ARGV[i])
    if v and tonumber(v) > base then return {0, cur} end
  end
end
local at = 4 + n
local m = tonumber(ARGV[at])
local first = at + 1 + m
if first > #ARGV then return {1, cur} end
local t = redis.call('TIME')
local ms = t[1] * 1000 + math.floor(t[2] / 1000)
for i = first, #ARGV, 2 do
  cur = cur + 1
  if ARGV[i + 1] == '' then redis.call('XADD', KEYS[3], cur .. '-0', 't', ms, 'r', ARGV[i])
  else redis.call('XADD', KEYS[3], cur .. '-0', 't', ms, 'r', ARGV[i], 'e', ARGV[i + 1]) end
end
redis.call('SET', KEYS[1], cur)
for i = at + 1, at + m do
  if ARGV[i] == '*' then redis.call('DEL', KEYS[2]) end
  redis.call('HSET', KEYS[2], ARGV[i], cur)
end
return {1, cur}`;

// A snapshot is written a part at a time (SNAPSHOT_PART, then SNAPSHOT_DONE), so that neither Redis
// nor the lease holder is held for the whole state. Both are taken only from the lease holder and
// while the snapshot is still at the version the parts extend, so parts of two holders never
// interleave. A replica that loads meanwhile may read some groups newer than the snapshot's
// version; replaying the feed after that version puts them right, because a replayed change leaves
// a group that already holds it as it was (each family, time and TTL is what its last change set).
const OWNED = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if tonumber(redis.call('GET', KEYS[2]) or '0') ~= tonumber(ARGV[2]) then return 0 end`;

// KEYS: lease, snapshot version, snapshot. ARGV: this replica's id, the snapshot version it
// extends, 1 to empty the snapshot first, then pairs of group id and record ('' removes the group).
const SNAPSHOT_PART = `${OWNED}
if ARGV[3] == '1' then redis.call('UNLINK', KEYS[3]) end
for i = 4, #ARGV, 2 do
  if ARGV[i + 1] == '' then redis.call('HDEL', KEYS[3], ARGV[i])
  else redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1]) end
end
return 1`;

// KEYS: lease, snapshot version, feed. ARGV: this replica's id, the snapshot version it extends,
// the new one, the lowest feed entry to keep.
const SNAPSHOT_DONE = `${OWNED}
redis.call('SET', KEYS[2], ARGV[3])
redis.call('XTRIM', KEYS[3], 'MINID', ARGV[4])
return 1`;

// KEYS: lease. ARGV: this replica's id, lease milliseconds. Whether this replica holds it now.
const LEASE = `
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if holder then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`;

const SCRIPTS = { commit: COMMIT, part: SNAPSHOT_PART, done: SNAPSHOT_DONE, lease: LEASE };

/** One change as the feed carries it. */
interface Entry {
  record: ChangeRecord;
  /** Why the write failed (its verdict), for a failed write. */
  error?: string;
  /** When Redis took it (ms), for entries read from the feed. */
  at?: number;
}

// Keys whose versions a change is judged on or stamps (see COMMIT and docs/replicas.md). A verdict
// on family n in group G looks at: G itself; which types the other groups hold under n and the
// names n may collide with (`t:`, stamped only when that can change what another group's verdict
// sees: the set of types under n, or whether a holder is the only one; see typeChanges);
// the series of n in groups of other grouping-key shapes than G's (`s:n:shape`: a series can only
// repeat one of another group whose grouping labels it carries, never one of the same shape); and
// for a new group, the groups whose push_time_seconds series would have the same labels (`c:`,
// its grouping labels with instance="" added as the series carry them: {job="a"} and
// {job="a",instance=""} are two groups with one series). So pushes that replace the values of their own group's
// families, the usual case, do not overtake each other, even when all groups share their names.
const groupKey = (id: string) => `g:${id}`;
const typeKey = (name: string) => `t:${name}`;
const seriesKey = (name: string, shape: string) => `s:${name}\xff${shape}`;
const timeSeriesKey = (labels: GroupingLabels) =>
  `c:${groupId('instance' in labels ? labels : { ...labels, instance: '' })}`;

/**
 * Whether a group gaining family `name` with type `type` (or changing to it; undefined: losing it)
 * can change another group's verdict: every other group sees "some other group holds `name` as T"
 * unchanged only when all holders agree on one type that stays, with at least two holders left
 * besides the changing one after a loss, or already two before a gain.
 */
function typeChanges(
  holders: { groups: number; types: ReadonlyMap<string, number> },
  before: string | undefined,
  type: string | undefined,
): boolean {
  if (before === type) return false;
  if (holders.types.size !== 1) return true;
  if (type === undefined) return !holders.types.has(before!) || holders.groups < 3;
  return before !== undefined || !holders.types.has(type) || holders.groups < 2;
}

/** The type keys a verdict on family `name` looks at: its own and those it could collide with. */
function typesLookedAt(name: string, into: Set<string>): void {
  into.add(typeKey(name));
  for (const suffix of ['_count', '_sum', '_bucket']) {
    into.add(typeKey(name + suffix));
    if (name.endsWith(suffix)) into.add(typeKey(name.slice(0, -suffix.length)));
  }
}

function client(opts: RedisStoreOptions, url: string) {
  return createClient({
    url,
    ...(opts.password === undefined ? {} : { password: opts.password }),
    // RESP2: plain arrays for XREAD, HGETALL and scripts, as the code below reads them.
    RESP: 2,
    // Commands while disconnected fail at once (a push answers 503) instead of waiting.
    disableOfflineQueue: true,
    pingInterval: 1000,
    socket: {
      ...opts.tls,
      connectTimeout: 2000,
      reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 1000),
    },
  });
}

type Client = ReturnType<typeof client>;

/** `url` with the host and port of `at` (the master the Sentinels name). */
function urlAt(url: string, at: Address): string {
  const u = new URL(url);
  u.hostname = at.host.includes(':') ? `[${at.host}]` : at.host;
  u.port = String(at.port);
  return u.toString();
}

/** How often the Sentinels are asked for the master while it cannot be reached, and otherwise. */
const ASK_DOWN_MS = 250;
const ASK_UP_MS = 5000;
/** How long changes wait, at most, for the Sentinels to name a master once one of them tries a failover. */
const FAILOVER_MS = 10_000;

export class RedisStore extends ViewedStore<MemoryStore> implements MetricStore {
  /** Replaced by new ones when the Sentinels name another master. */
  private cmd: Client;
  private feed: Client;
  /** With Sentinel: the master the clients talk to (host:port), undefined until one is named. */
  private master: string | undefined;
  private asking = false;
  /** The last failure to ask the Sentinels, as logged (once until it changes). */
  private sentinelTrouble: string | undefined;
  private stopWatching: (() => void) | undefined;
  /** Until when changes are refused because a Sentinel tries a failover (0: none under way). */
  private failoverUntil = 0;
  private readonly keys: {
    version: string;
    deps: string;
    feed: string;
    snap: string;
    snapVersion: string;
    lease: string;
    /** Set once when the state is first created: a Redis that lost its data has none or another. */
    epoch: string;
  };
  /** The epoch of the state the view holds. */
  private epoch = '';
  private readonly id = randomUUID();
  private shas: Record<keyof typeof SCRIPTS, string> | undefined;
  /** The Redis version the view holds: every change up to it is applied, none after. */
  private applied = 0;
  /** Changes that came before those between them and `applied` (a commit answered before the feed). */
  private readonly pending = new Map<number, Entry>();
  private waiters: Array<{ version: number; resolve: () => void }> = [];
  /** Per group, the last pending write or delete: the next one of the group waits for it. */
  private readonly tails = new Map<string, Promise<unknown>>();
  /** Groups changed since versions not yet in the snapshot (id → version), and the last wipe. */
  private readonly touched = new Map<string, number>();
  private wipedAt = 0;
  private loaded = false;
  /** Why Redis cannot be used now, as logged; undefined while it can. */
  private downReason: string | undefined = 'not connected to Redis yet';
  private holder = false;
  private everUp = false;
  private expiryStarted = false;
  private closed = false;
  private readonly timers: NodeJS.Timeout[] = [];
  /**
   * Counts the replacements of the clients (moveTo). A task started on clients since replaced may
   * fail after the new master was reached (a destroyed client's connect() rejects only at the end
   * of its reconnect wait, up to a second later): such a failure is no news about the new master.
   */
  private generation = 0;
  private feedLoop: Promise<void> | undefined;
  private loading: Promise<void> | undefined;
  /** Counts for self-metrics. */
  readonly stats = { reloads: 0, errors: 0, conflicts: 0, commits: 0 };

  private constructor(
    private readonly opts: RedisStoreOptions,
    makeInner: (remove: (ids: string[]) => void) => MemoryStore,
  ) {
    // Expiry asks this store to remove groups, and this store is only made once its view is.
    const self: { store?: RedisStore } = {};
    super(makeInner((ids) => self.store!.expireDue(ids)));
    self.store = this;
    const prefix = opts.prefix ?? 'pushgateway:';
    this.keys = {
      version: `${prefix}version`,
      deps: `${prefix}deps`,
      feed: `${prefix}feed`,
      snap: `${prefix}snapshot`,
      snapVersion: `${prefix}snapshot-version`,
      lease: `${prefix}expiry-lease`,
      epoch: `${prefix}epoch`,
    };
    // With Sentinel these stay unconnected (their commands fail at once) until a master is named.
    [this.cmd, this.feed] = this.clients(opts.url);
  }

  private clients(url: string): [Client, Client] {
    const pair: [Client, Client] = [client(this.opts, url), client(this.opts, url)];
    for (const c of pair) {
      // Clients of a master left behind may still report; only the current ones count.
      const current = () => c === this.cmd || c === this.feed;
      c.on('error', (e: Error) => {
        if (current()) this.down(e);
      });
      c.on('ready', () => {
        if (current()) this.up();
      });
    }
    return pair;
  }

  /**
   * Connects and loads the whole state (the store is ready once it has; with `loadInBackground`
   * the load goes on after this resolves); if Redis cannot be reached yet, the store starts unready
   * and keeps trying. `makeInner` builds the local view with
   * the expiry removal handed to it.
   */
  static async open(
    opts: RedisStoreOptions,
    makeInner: (remove: (ids: string[]) => void) => MemoryStore,
  ): Promise<RedisStore> {
    const store = new RedisStore(opts, makeInner);
    await store.start();
    return store;
  }

  private async start(): Promise<void> {
    if (this.sentinel !== undefined) {
      await this.findMaster(true);
      this.stopWatching = watchFailovers(this.sentinel, {
        started: () => this.failoverStarted(),
        named: () => void this.findMaster(false),
      });
      let last = Date.now();
      this.every(ASK_DOWN_MS, async () => {
        if (this.downReason === undefined && Date.now() - last < ASK_UP_MS) return;
        last = Date.now();
        await this.findMaster(false);
      });
    } else {
      // connect() resolves or rejects once; the client keeps reconnecting by itself after that.
      await Promise.all([this.cmd.connect(), this.feed.connect()]).catch(this.failed());
    }
    const loaded = this.load().catch(this.failed());
    if (!this.opts.loadInBackground) await loaded;
    this.feedLoop = this.follow();
    await this.renewLease().catch(() => undefined);
    const lease = this.opts.leaseMs ?? 3000;
    this.every(lease / 3, () => this.renewLease());
    this.every(this.opts.compactMs ?? 5000, () => this.compact());
  }

  private get sentinel() {
    const { sentinels, masterName, sentinelPassword, sentinelTls } = this.opts;
    if (sentinels === undefined || sentinels.length === 0 || masterName === undefined) return undefined;
    return {
      sentinels,
      masterName,
      ...(sentinelPassword === undefined ? {} : { password: sentinelPassword }),
      ...(sentinelTls === undefined ? {} : { tls: sentinelTls }),
    };
  }

  /**
   * Asks the Sentinels for the master and moves to it if it is another. At start a name no
   * Sentinel knows is thrown (the start fails); Sentinels that do not answer are waited for, as
   * Redis itself is.
   */
  private async findMaster(atStart: boolean): Promise<void> {
    if (this.asking || this.closed) return;
    this.asking = true;
    try {
      const at = await askMaster(this.sentinel!);
      this.sentinelTrouble = undefined;
      if (addressText(at) !== this.master) this.moveTo(at);
    } catch (e) {
      if (atStart && e instanceof SentinelSettingError) throw e;
      const reason = (e as Error).message;
      if (this.master === undefined) this.down(e as Error);
      else if (reason !== this.sentinelTrouble) this.opts.log.warn({ err: reason }, 'cannot ask the Redis Sentinels');
      this.sentinelTrouble = reason;
    } finally {
      this.asking = false;
    }
  }

  /**
   * A Sentinel tries a failover: changes are refused until the Sentinels name the master (at most
   * FAILOVER_MS). A change committed to the old master meanwhile could be acknowledged by a replica
   * that is then pointed at the promoted one, and lost with the old master's history.
   */
  private failoverStarted(): void {
    this.failoverUntil = Date.now() + FAILOVER_MS;
    this.down(new Error(`a Redis Sentinel failover of ${this.opts.masterName} is under way`));
  }

  /** Talks to the master at `at` from now on (new clients; the old ones' pending commands fail: 503). */
  private moveTo(at: Address): void {
    const first = this.master === undefined;
    this.master = addressText(at);
    this.failoverUntil = 0;
    const old = [this.cmd, this.feed];
    this.generation++;
    [this.cmd, this.feed] = this.clients(urlAt(this.opts.url, at));
    for (const c of old) c.destroy();
    if (first) this.opts.log.info({ master: this.master }, 'the Redis Sentinels name the master');
    else {
      this.opts.log.warn({ master: this.master }, 'the Redis Sentinels name a new master; loading the metrics from it');
      this.down(new Error(`the Redis master moved to ${this.master}`));
      // The old master may have held changes the new one never received, which the view may
      // show: it is loaded again from the new master before any change is taken (ready() refuses
      // until then), also if a load from the old one was under way.
      this.pending.clear();
      if (this.loaded) this.stats.reloads++;
      this.loaded = false;
      this.loading?.then(
        () => (this.loaded = false),
        () => undefined,
      );
    }
    void Promise.all([this.cmd.connect(), this.feed.connect()]).catch(this.failed());
  }

  /** What marks Redis down for a failure of the clients in use now, unless they are replaced by then. */
  private failed(): (e: unknown) => void {
    const generation = this.generation;
    return (e) => {
      if (generation === this.generation) this.down(e as Error);
    };
  }

  private every(ms: number, task: () => Promise<unknown>): void {
    let running = false;
    const t = setInterval(() => {
      if (running || this.closed) return;
      running = true;
      const failed = this.failed();
      task()
        .catch(failed)
        .finally(() => (running = false));
    }, ms);
    t.unref();
    this.timers.push(t);
  }

  /** The Redis version the view has reached. */
  get redisVersion(): number {
    return this.applied;
  }
  get leaseHolder(): boolean {
    return this.holder;
  }

  health(): StoreHealth {
    if (!this.loaded) {
      const why = this.cmd.isReady && this.feed.isReady ? 'loading' : this.downReason;
      return { healthy: true, ready: false, reason: `the metrics are not loaded from Redis yet: ${why}` };
    }
    if (this.downReason !== undefined) {
      return {
        healthy: true,
        ready: false,
        reason: `Redis cannot be reached (${this.downReason}): changes are refused`,
      };
    }
    return { healthy: true, ready: true };
  }

  /** Changes come only through write, delete and wipe, which Redis orders: nothing is put in place locally. */
  restore(): void {
    throw new Error('the Redis store is restored from Redis only');
  }
  replay(): void {
    throw new Error('the Redis store replays its change feed only');
  }

  // ---- changes ----
  write(req: WriteRequest): Promise<WriteResult> {
    const id = groupId(req.labels);
    return this.inOrder(id, async () => {
      const families = await familiesOf(await req.families);
      this.startExpiry();
      const timestampMs = req.timestampMs ?? nowMs();
      return this.attempt(async (base) => {
        // A push that finds its group past its deadline comes after the group's expiry.
        const due = this.inner.expiry.active ? this.inner.dueGroup(id, timestampMs) : undefined;
        if (due !== undefined) {
          if (await this.commitDelete(base, due)) this.inner.expiry.expired++;
          return undefined;
        }
        const { result, record } = this.inner.judge({
          labels: req.labels,
          families,
          replace: req.replace,
          check: req.check,
          timestampMs,
          ...(req.ttlMs === undefined ? {} : { ttlMs: req.ttlMs }),
        });
        if (record === undefined) return result;
        const existing = this.inner.group(id);
        const shape = groupShape(req.labels).join('\xff');
        const deps = new Set<string>([groupKey(id)]);
        const stamps = new Set<string>([groupKey(id)]);
        if (existing === undefined) {
          deps.add(timeSeriesKey(req.labels));
          stamps.add(timeSeriesKey(req.labels));
        }
        for (const mf of families) {
          typesLookedAt(mf.name, deps);
          for (const other of this.inner.familyHolders(mf.name).shapes) {
            if (other !== shape) deps.add(seriesKey(mf.name, other));
          }
        }
        if ('write' in record && record.ok) {
          const pushed = new Set<string>();
          for (const mf of record.write.families) {
            pushed.add(mf.name);
            stamps.add(seriesKey(mf.name, shape));
            const before = existing?.families.get(mf.name)?.type;
            if (typeChanges(this.inner.familyHolders(mf.name), before, mf.type)) stamps.add(typeKey(mf.name));
          }
          if (req.replace && existing !== undefined) {
            for (const [name, sf] of existing.families) {
              if (isTimeName(name) || pushed.has(name)) continue;
              if (typeChanges(this.inner.familyHolders(name), sf.type, undefined)) stamps.add(typeKey(name));
              stamps.add(seriesKey(name, shape));
            }
          }
        }
        const error = result.ok ? undefined : result.error;
        return (await this.commit(base, deps, stamps, [{ record, error }])) ? result : undefined;
      });
    });
  }

  delete(labels: GroupingLabels): Promise<void> {
    const id = groupId(labels);
    return this.inOrder(id, () =>
      this.attempt(async (base) => {
        const group = this.inner.group(id);
        // A missing group is no change, if it is still missing in Redis.
        if (group === undefined) return (await this.commit(base, [groupKey(id)], [], [])) ? true : undefined;
        return (await this.commitDelete(base, group)) ? true : undefined;
      }),
    ).then(() => undefined);
  }

  async wipe(): Promise<void> {
    this.ready();
    await this.commit(this.applied, [], ['*'], [{ record: { wipe: true } }]);
  }

  private commitDelete(base: number, group: Group): Promise<boolean> {
    const stamps = [groupKey(group.id), timeSeriesKey(group.labels)];
    const shape = groupShape(group.labels).join('\xff');
    for (const [name, sf] of group.families) {
      if (isTimeName(name)) continue;
      stamps.push(seriesKey(name, shape));
      if (typeChanges(this.inner.familyHolders(name), sf.type, undefined)) stamps.push(typeKey(name));
    }
    return this.commit(base, [groupKey(group.id)], stamps, [{ record: { delete: group.labels } }]);
  }

  /**
   * Runs `step` against the view at its current version until it gives an answer (undefined: its
   * commit was overtaken by other changes; the view catches up and it runs again).
   */
  private async attempt<T>(step: (base: number) => Promise<T | undefined>): Promise<T> {
    for (let i = 0; i < ATTEMPTS; i++) {
      this.ready();
      const answer = await step(this.applied);
      if (answer !== undefined) return answer;
    }
    throw new StoreUnavailableError(`the change was overtaken ${ATTEMPTS} times by other replicas' changes; try again`);
  }

  private ready(): void {
    if (this.closed) throw new StoreUnavailableError('the gateway is shutting down');
    if (!this.loaded || this.downReason !== undefined) {
      throw new StoreUnavailableError(
        `Redis cannot be reached (${this.downReason ?? 'loading'}), so the change was not applied; try again later`,
      );
    }
  }

  /**
   * Commits `entries` if none of `deps` changed after `base`, stamping `stamps` with the new
   * version; then applies them to the view (after every earlier change). False if overtaken: the
   * view has caught up with what overtook it when this returns.
   */
  private async commit(
    base: number,
    deps: Iterable<string>,
    stamps: Iterable<string>,
    entries: Entry[],
  ): Promise<boolean> {
    const d = [...deps];
    const s = [...stamps];
    const args = [this.epoch, String(base), String(d.length), ...d, String(s.length), ...s];
    for (const e of entries) args.push(encodeLine(e.record), e.error ?? '');
    const started = performance.now();
    const failed = this.failed();
    let reply: [number, number];
    try {
      const keys = [this.keys.version, this.keys.deps, this.keys.feed, this.keys.epoch];
      reply = (await this.script('commit', keys, args)) as [number, number];
      if (this.opts.minReplicasAcked !== undefined && this.opts.minReplicasAcked > 0 && entries.length > 0) {
        const acked = Number(await this.cmd.sendCommand(['WAIT', String(this.opts.minReplicasAcked), '1000']));
        if (acked < this.opts.minReplicasAcked) {
          this.stats.errors++;
          // Applied on the master all the same: the view takes it from the feed.
          throw new StoreUnavailableError(
            `only ${acked} Redis replicas acknowledged the change within 1 s, fewer than ` +
              `--storage.redis.min-replicas-acked=${this.opts.minReplicasAcked}; it may be lost in a failover`,
          );
        }
      }
    } catch (e) {
      if (e instanceof StoreUnavailableError) throw e;
      this.stats.errors++;
      failed(e);
      throw new StoreUnavailableError(
        `Redis did not take the change (${(e as Error).message}), so it was not applied; try again later`,
      );
    }
    this.opts.onCommit?.((performance.now() - started) / 1000);
    const [ok, version] = [Number(reply[0]), Number(reply[1])];
    if (ok === 2) {
      await this.lost();
      return false;
    }
    if (ok !== 1) {
      this.stats.conflicts++;
      await this.caughtUp(version);
      return false;
    }
    this.stats.commits++;
    const first = version - entries.length + 1;
    entries.forEach((e, i) => this.deliver(first + i, e));
    await this.caughtUp(version);
    return true;
  }

  private async script(name: keyof typeof SCRIPTS, keys: string[], args: string[]): Promise<unknown> {
    if (this.shas === undefined) {
      const names = Object.keys(SCRIPTS) as Array<keyof typeof SCRIPTS>;
      const shas = await Promise.all(
        names.map((n) => this.cmd.sendCommand(['SCRIPT', 'LOAD', SCRIPTS[n]]) as Promise<string>),
      );
      this.shas = Object.fromEntries(names.map((n, i) => [n, shas[i]])) as Record<keyof typeof SCRIPTS, string>;
    }
    try {
      return await this.cmd.sendCommand(['EVALSHA', this.shas[name], String(keys.length), ...keys, ...args]);
    } catch (e) {
      // A restarted Redis has forgotten its scripts.
      if (!String((e as Error).message).startsWith('NOSCRIPT')) throw e;
      return this.cmd.sendCommand(['EVAL', SCRIPTS[name], String(keys.length), ...keys, ...args]);
    }
  }

  /** Resolves once the view holds every change up to `version` (rejects if that takes too long). */
  private caughtUp(version: number): Promise<void> {
    if (this.applied >= version) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = { version, resolve };
      this.waiters.push(waiter);
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new StoreUnavailableError(`the change feed from Redis is ${CATCH_UP_MS} ms behind; try again later`));
      }, CATCH_UP_MS);
      t.unref();
      const done = waiter.resolve;
      waiter.resolve = () => {
        clearTimeout(t);
        done();
      };
    });
  }

  /** Applies a change of the feed to the view in version order; those that come early wait for the rest. */
  private deliver(version: number, entry: Entry): void {
    if (version <= this.applied) return;
    if (version !== this.applied + 1) {
      this.pending.set(version, entry);
      return;
    }
    this.apply(version, entry);
    for (let next = this.pending.get(this.applied + 1); next !== undefined; next = this.pending.get(this.applied + 1)) {
      this.pending.delete(this.applied + 1);
      this.apply(this.applied + 1, next);
    }
    this.wake();
  }

  private apply(version: number, { record, error }: Entry): void {
    this.inner.applyCommitted(record, error);
    this.applied = version;
    if ('write' in record) this.touched.set(groupId(record.write.labels), version);
    else if ('delete' in record) this.touched.set(groupId(record.delete), version);
    else {
      this.touched.clear();
      this.wipedAt = version;
    }
  }

  private wake(): void {
    if (this.waiters.length === 0) return;
    const done = this.waiters.filter((w) => w.version <= this.applied);
    this.waiters = this.waiters.filter((w) => w.version > this.applied);
    for (const w of done) w.resolve();
  }

  /** Follows the feed from the view's version; a gap (entries trimmed away) reloads everything. */
  private async follow(): Promise<void> {
    while (!this.closed) {
      const failed = this.failed();
      try {
        if (!this.loaded) {
          await this.load();
          continue;
        }
        const reply = (await this.feed.sendCommand([
          'XREAD',
          'COUNT',
          '1000',
          'BLOCK',
          '1000',
          'STREAMS',
          this.keys.feed,
          `${this.applied}-0`,
        ])) as Array<[string, Array<[string, string[]]>]> | null;
        this.up();
        if (reply === null) {
          // Quiet: a good time to make sure Redis still holds the state the view follows.
          if (String(await this.feed.sendCommand(['GET', this.keys.epoch])) !== this.epoch) await this.lost();
          continue;
        }
        for (const [id, fields] of reply[0][1]) {
          const version = Number(id.slice(0, id.indexOf('-')));
          if (version <= this.applied) continue;
          if (version !== this.applied + 1 && !this.pending.has(this.applied + 1)) {
            this.opts.log.warn({ at: this.applied, next: version }, 'the Redis change feed skipped changes; reloading');
            await this.load();
            break;
          }
          const entry = entryOf(fields);
          if (entry.at !== undefined && version > this.applied)
            this.opts.onFeedLag?.(Math.max(0, Date.now() - entry.at) / 1000);
          this.deliver(version, entry);
        }
      } catch (e) {
        if (this.closed) return;
        this.stats.errors++;
        failed(e);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  /**
   * Puts the whole state in place: the snapshot and the feed after it, read first, then applied
   * in one turn so no reader sees half of it.
   */
  private load(): Promise<void> {
    this.loading ??= this.loadOnce().finally(() => (this.loading = undefined));
    return this.loading;
  }

  private async loadOnce(): Promise<void> {
    const room = this.opts.heapRoom?.lease();
    room?.widen();
    try {
      await this.loadState();
    } finally {
      room?.release();
    }
  }

  private async loadState(): Promise<void> {
    for (;;) {
      // The snapshot is copied in the same transaction as its version, then read from the copy a
      // slice at a time: a compaction meanwhile cannot mix versions, and neither Redis nor this
      // event loop is held for the whole of a large state (one HGETALL of 1,000,000 series is
      // ~200 MiB in one reply).
      const copy = `${this.keys.snap}:loading:${this.id}`;
      const [, epoch, snapVersion] = (await this.cmd
        .multi()
        .addCommand(['SET', this.keys.epoch, randomUUID(), 'NX'])
        .addCommand(['GET', this.keys.epoch])
        .addCommand(['GET', this.keys.snapVersion])
        .addCommand(['COPY', this.keys.snap, copy, 'REPLACE'])
        // A replica that dies while loading leaves its copy behind for a few minutes at most.
        .addCommand(['PEXPIRE', copy, '300000'])
        .exec()) as unknown as [unknown, string, string | null];
      const records = await this.readRecords(copy);
      const from = Number(snapVersion ?? '0');
      const entries: Array<[number, Entry]> = [];
      let next = from + 1;
      let gap = false;
      for (;;) {
        const batch = (await this.cmd.sendCommand([
          'XRANGE',
          this.keys.feed,
          `${next}-0`,
          '+',
          'COUNT',
          '10000',
        ])) as Array<[string, string[]]>;
        for (const [id, fields] of batch) {
          const version = Number(id.slice(0, id.indexOf('-')));
          if (version !== next) gap = true;
          entries.push([version, entryOf(fields)]);
          next = version + 1;
        }
        if (gap || batch.length < 10000) break;
      }
      // Trimmed between the two reads by a newer snapshot: read again.
      if (gap) continue;
      this.epoch = epoch;
      const wiped = this.inner.wipe();
      for (const record of records) this.inner.restore(record);
      this.applied = from;
      this.touched.clear();
      this.wipedAt = 0;
      for (const [version, entry] of entries) this.apply(version, entry);
      await wiped;
      for (const v of [...this.pending.keys()]) if (v <= this.applied) this.pending.delete(v);
      if (this.loaded) this.stats.reloads++;
      this.loaded = true;
      this.up();
      this.opts.log.info(
        { groups: this.inner.groupCount, series: this.inner.seriesCount, version: this.applied },
        'metrics loaded from Redis',
      );
      this.deliverPending();
      return;
    }
  }

  /**
   * The records of hash `key`, read with HSCAN a slice at a time and decoded a slice per turn, the
   * next slice asked for before this one is decoded (Redis and the transfer overlap the decoding);
   * the hash is removed afterwards.
   */
  private async readRecords(key: string): Promise<GroupRecord[]> {
    const records: GroupRecord[] = [];
    const scan = (cursor: string) => {
      const reply = this.cmd.sendCommand(['HSCAN', key, cursor, 'COUNT', String(LOAD_SLICE)]) as Promise<
        [string, string[]]
      >;
      // Awaited below, unless decoding the slice before it failed.
      reply.catch(() => undefined);
      return reply;
    };
    try {
      let reply = scan('0');
      for (;;) {
        const [cursor, flat] = await reply;
        if (cursor !== '0') reply = scan(cursor);
        for (let i = 1; i < flat.length; i += 2) records.push(decodeLine<GroupRecord>(flat[i]));
        if (cursor === '0') break;
      }
    } finally {
      await this.cmd.sendCommand(['UNLINK', key]).catch(() => undefined);
    }
    return records;
  }

  /** Redis no longer holds the state the view was loaded from (restarted without persistence, flushed): reload. */
  private async lost(): Promise<void> {
    this.opts.log.error(
      { version: this.applied },
      'Redis lost the metrics this replica follows (restarted without persistence?); loading what it holds now',
    );
    this.pending.clear();
    await this.load();
  }

  private deliverPending(): void {
    const next = this.pending.get(this.applied + 1);
    if (next !== undefined) {
      this.pending.delete(this.applied + 1);
      this.deliver(this.applied + 1, next);
    } else this.wake();
  }

  // ---- expiry and compaction: by the lease holder ----
  private async renewLease(): Promise<void> {
    const lease = this.opts.leaseMs ?? 3000;
    const held = Number(await this.script('lease', [this.keys.lease], [this.id, String(lease)])) === 1;
    if (held && !this.holder) {
      this.holder = true;
      this.opts.log.info('this replica runs group expiry and Redis snapshots now');
      // Due groups the previous holder did not remove yet.
      if (this.expiryStarted) void this.sweep();
    } else if (!held && this.holder) {
      this.holder = false;
      this.opts.log.info('another replica runs group expiry and Redis snapshots now');
    }
  }

  private startExpiry(): void {
    if (this.expiryStarted) return;
    this.expiryStarted = true;
    this.inner.expiry.start(Date.now());
  }

  /** Removes, through Redis, every group due now (on the lease holder). */
  private sweep(): Promise<number> {
    const now = nowMs();
    const due: string[] = [];
    for (const g of this.inner.groups()) if (this.inner.dueGroup(g.id, now) !== undefined) due.push(g.id);
    return this.removeDue(due);
  }

  private expireDue(ids: string[]): void {
    this.removeDue(ids).catch(() => undefined);
  }

  /** Removes these groups, each in its order, if this replica runs expiry and they are still due then. */
  private async removeDue(ids: string[]): Promise<number> {
    if (!this.holder) return 0;
    const removed = await Promise.all(
      ids.map((id) =>
        this.inOrder(id, () =>
          this.attempt(async (base) => {
            const group = this.inner.dueGroup(id, nowMs());
            if (group === undefined) return false;
            if (!(await this.commitDelete(base, group))) return undefined;
            this.inner.expiry.expired++;
            return true;
          }),
        ).catch(() => false),
      ),
    );
    return removed.filter(Boolean).length;
  }

  expireOverdue(): Promise<number> {
    this.expiryStarted = true;
    return this.sweep().then((n) => {
      this.inner.expiry.start(Date.now());
      return n;
    });
  }

  /** On the lease holder, writes the groups changed since the last snapshot into it and trims the feed behind it. */
  private async compact(): Promise<void> {
    if (!this.loaded || this.downReason !== undefined) return;
    const since = Number((await this.cmd.sendCommand(['GET', this.keys.snapVersion])) ?? '0');
    // Every replica forgets what the snapshot holds already, so that it can take the lease later.
    for (const [id, v] of this.touched) if (v <= since) this.touched.delete(id);
    const at = this.applied;
    if (!this.holder || since >= at) return;
    const full = this.wipedAt > since;
    const ids = full
      ? [...this.inner.groups()].map((g) => g.id)
      : [...this.touched].filter(([, v]) => v > since).map(([id]) => id);
    // Frozen in this turn, as of `at`; encoded and sent a part at a time while the view moves on.
    const present = ids.map((id) => this.inner.group(id));
    const frozen = freezeGroups(present.filter((g): g is Group => g !== undefined)).groups;
    let k = 0;
    const groups = present.map((g) => (g === undefined ? undefined : frozen[k++]));
    const owned = [this.keys.lease, this.keys.snapVersion];
    let next = 0;
    do {
      const args = [this.id, String(since), full && next === 0 ? '1' : '0'];
      const started = performance.now();
      let bytes = 0;
      for (; next < ids.length && bytes < PART_BYTES && performance.now() - started < PART_MS; next++) {
        const line = groups[next] === undefined ? '' : encodeLine(groups[next]!.record());
        args.push(ids[next], line);
        bytes += ids[next].length + line.length;
      }
      if (Number(await this.script('part', [...owned, this.keys.snap], args)) !== 1) return;
    } while (next < ids.length);
    const args = [this.id, String(since), String(at), `${Math.max(1, at - FEED_MARGIN + 1)}-0`];
    if (Number(await this.script('done', [...owned, this.keys.feed], args)) !== 1) return;
    for (const [id, v] of this.touched) if (v <= at) this.touched.delete(id);
  }

  // ---- health ----
  private down(e: Error): void {
    const reason = e.message || String(e);
    if (this.downReason !== undefined) return;
    this.downReason = reason;
    this.opts.log.error({ err: reason }, 'Redis cannot be reached; changes are refused (503), reads go on');
  }

  private up(): void {
    if (this.downReason === undefined || !this.cmd.isReady || !this.feed.isReady || !this.loaded) return;
    if (Date.now() < this.failoverUntil) return;
    this.downReason = undefined;
    if (this.everUp) this.opts.log.info('Redis reached again; changes are taken');
    this.everUp = true;
  }

  /**
   * Runs `task` after every earlier write or delete of the group (rejections included).
   */
  private inOrder<T>(id: string, task: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(id);
    const next = prev === undefined ? task() : prev.then(task, task);
    this.tails.set(id, next);
    const clear = () => {
      if (this.tails.get(id) === next) this.tails.delete(id);
    };
    next.then(clear, clear);
    return next;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopWatching?.();
    for (const t of this.timers) clearInterval(t);
    await Promise.all([...this.tails.values()].map((p) => p.catch(() => undefined)));
    await this.inner.close();
    this.cmd.destroy();
    this.feed.destroy();
    await this.feedLoop;
  }
}

function entryOf(fields: string[]): Entry {
  let record: ChangeRecord | undefined;
  const entry: Partial<Entry> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) {
    if (fields[i] === 'r') record = decodeLine<ChangeRecord>(fields[i + 1]);
    else if (fields[i] === 'e') entry.error = fields[i + 1];
    else if (fields[i] === 't') entry.at = Number(fields[i + 1]);
  }
  if (record === undefined) throw new Error('a change feed entry without its record');
  return { ...entry, record };
}
