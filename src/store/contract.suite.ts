// The MetricStore contract (src/store/types.ts) as tests: every store implementation runs this
// suite (src/store/memory.contract.test.ts, src/persist/durable.contract.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MetricFamily, MetricType } from '../model.js';
import {
  StoreUnavailableError,
  type ChangeRecord,
  type GroupingLabels,
  type MetricStore,
  type StoreChange,
  type WriteRequest,
  type WriteResult,
} from './types.js';
import { StoreLimits } from './limits.js';
import { parseTextBytes } from '../parse/text.js';
import type { ExpiryOptions } from './expiry.js';

export interface ContractSubject {
  store: MetricStore;
  /** Closes the store and opens it again on what it persisted; absent for stores that keep nothing. */
  reopen?: () => Promise<MetricStore>;
  /** Makes the store's disk refuse writes (true) or take them again; absent for stores that never refuse. */
  refuse?: (refusing: boolean) => void;
  /** A fresh, empty store of the same kind, for replays. */
  fresh: () => Promise<MetricStore>;
  cleanup: () => Promise<void>;
}

function fam(
  name: string,
  type: MetricType,
  values: Array<[Record<string, string>, number]>,
  help?: string,
): MetricFamily {
  const mf: MetricFamily = {
    name,
    type,
    metrics: values.map(([labels, value]) => ({
      labels: Object.entries(labels).map(([n, v]) => ({ name: n, value: v })),
      value,
    })),
  };
  if (help !== undefined) mf.help = help;
  return mf;
}

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: Error) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((a, b) => {
    resolve = a;
    reject = b;
  });
  return { promise, resolve, reject };
}

/** Everything a reader can see of a store, comparable with deepEqual. */
export function view(store: MetricStore): unknown {
  const groups = [...store.groups()].sort((a, b) => (a.id < b.id ? -1 : 1));
  return groups.map((g) => ({
    labels: g.labels,
    push: g.pushTimeSeconds,
    failure: g.failureTimeSeconds,
    families: [...g.families.values()]
      .map((sf) => ({
        name: sf.name,
        type: sf.type,
        help: sf.help,
        series: sf.seriesCount,
        lines: sf.lines(),
        at: sf.timestampMs,
      }))
      .sort((a, b) => (a.name < b.name ? -1 : 1)),
  }));
}

function valueOf(store: MetricStore, labels: GroupingLabels, name: string): number | undefined {
  const g = [...store.groups()].find((x) => JSON.stringify(x.labels) === JSON.stringify(labels));
  return g?.families.get(name)?.unpack().metrics[0]?.value;
}

/** `open` builds the store with the limits and expiry options given (none when undefined). */
export function storeContract(
  kind: string,
  open: (limits?: StoreLimits, expiry?: ExpiryOptions) => Promise<ContractSubject>,
): void {
  const run = (
    name: string,
    body: (s: ContractSubject) => Promise<void>,
    limits?: StoreLimits,
    expiry?: ExpiryOptions,
  ): void => {
    test(`${kind} store contract: ${name}`, async () => {
      const subject = await open(limits, expiry);
      try {
        await body(subject);
      } finally {
        await subject.cleanup();
      }
    });
  };

  run('a write resolves with its verdict once readers see it', async ({ store }) => {
    const r = await store.write({
      labels: { job: 'a' },
      families: [fam('x', 'gauge', [[{}, 1]])],
      replace: true,
      check: true,
      timestampMs: 5000,
    });
    assert.deepEqual(r, { ok: true });
    assert.equal(store.groupCount, 1);
    assert.equal(store.seriesCount, 3, 'x, push_time_seconds, push_failure_time_seconds');
    assert.equal(valueOf(store, { job: 'a' }, 'x'), 1);
    assert.equal(valueOf(store, { job: 'a' }, 'push_time_seconds'), 5);
    assert.deepEqual(
      [...store.familyGroups('x')].map((g) => g.labels),
      [{ job: 'a' }],
    );
    assert.ok([...store.familyNames()].includes('x'));
  });

  run('writes of one group apply in call order, whatever order their bodies arrive in', async ({ store }) => {
    const first = deferred<MetricFamily[]>();
    const w1 = store.write({ labels: { job: 'o' }, families: first.promise, replace: true, check: true });
    const w2 = store.write({
      labels: { job: 'o' },
      families: [fam('x', 'gauge', [[{}, 2]])],
      replace: true,
      check: true,
    });
    const del = store.delete({ job: 'o' });
    const w3 = store.write({
      labels: { job: 'o' },
      families: Promise.resolve([fam('x', 'gauge', [[{}, 3]])]),
      replace: true,
      check: true,
    });
    // Another group is not held up by the pending body.
    await store.write({
      labels: { job: 'other' },
      families: [fam('y', 'gauge', [[{}, 9]])],
      replace: true,
      check: true,
    });
    assert.equal(valueOf(store, { job: 'other' }, 'y'), 9);
    assert.equal(valueOf(store, { job: 'o' }, 'x'), undefined, 'nothing of the group applied before its first write');
    first.resolve([fam('x', 'gauge', [[{}, 1]])]);
    const seen: number[] = [];
    await Promise.all([w1, w2, del, w3].map((p, i) => p.then(() => seen.push(i))));
    assert.deepEqual(seen, [0, 1, 2, 3]);
    assert.equal(valueOf(store, { job: 'o' }, 'x'), 3);
  });

  run('a write whose body fails rejects and changes nothing', async ({ store }) => {
    await store.write({
      labels: { job: 'f' },
      families: [fam('x', 'gauge', [[{}, 1]])],
      replace: true,
      check: true,
      timestampMs: 1000,
    });
    const before = view(store);
    const version = store.version;
    await assert.rejects(
      store.write({
        labels: { job: 'f' },
        families: Promise.reject(new Error('bad body')),
        replace: true,
        check: true,
      }),
      /bad body/,
    );
    assert.deepEqual(view(store), before);
    assert.equal(store.version, version);
    // The group's order goes on after the failure.
    await store.write({ labels: { job: 'f' }, families: [fam('x', 'gauge', [[{}, 2]])], replace: true, check: true });
    assert.equal(valueOf(store, { job: 'f' }, 'x'), 2);
  });

  run('an inconsistent write is refused, keeps the old metrics and stamps the failure', async ({ store }) => {
    await store.write({
      labels: { job: 'a' },
      families: [fam('m', 'gauge', [[{}, 1]])],
      replace: true,
      check: true,
      timestampMs: 1000,
    });
    await store.write({
      labels: { job: 'b' },
      families: [fam('k', 'gauge', [[{}, 1]])],
      replace: true,
      check: true,
      timestampMs: 1000,
    });
    const r = await store.write({
      labels: { job: 'b' },
      families: [fam('m', 'counter', [[{}, 2]])],
      replace: true,
      check: true,
      timestampMs: 2000,
    });
    assert.equal(r.ok, false);
    assert.match((r as { error: string }).error, /m/);
    assert.equal(valueOf(store, { job: 'b' }, 'k'), 1, 'old metrics kept');
    assert.equal(valueOf(store, { job: 'b' }, 'push_failure_time_seconds'), 2);
    assert.equal(valueOf(store, { job: 'b' }, 'push_time_seconds'), 1);
    const ts = await store.write({
      labels: { job: 'c' },
      families: [{ name: 't', type: 'gauge', metrics: [{ labels: [], value: 1, timestampMs: 5 }] }],
      replace: true,
      check: true,
    });
    assert.deepEqual(ts, { ok: false, error: 'pushed metrics must not have timestamps' });
  });

  run('POST replaces only the families it names; PUT the whole group; delete and wipe remove', async ({ store }) => {
    await store.write({
      labels: { job: 'p' },
      families: [fam('a', 'gauge', [[{}, 1]]), fam('b', 'gauge', [[{}, 1]])],
      replace: true,
      check: true,
    });
    await store.write({ labels: { job: 'p' }, families: [fam('a', 'gauge', [[{}, 2]])], replace: false, check: true });
    assert.equal(valueOf(store, { job: 'p' }, 'a'), 2);
    assert.equal(valueOf(store, { job: 'p' }, 'b'), 1);
    await store.write({ labels: { job: 'p' }, families: [fam('a', 'gauge', [[{}, 3]])], replace: true, check: true });
    assert.equal(valueOf(store, { job: 'p' }, 'b'), undefined);
    await store.write({ labels: { job: 'q' }, families: [fam('a', 'gauge', [[{}, 1]])], replace: true, check: true });
    await store.delete({ job: 'p' });
    await store.delete({ job: 'missing' });
    assert.deepEqual(
      [...store.groups()].map((g) => g.labels),
      [{ job: 'q' }],
    );
    await store.wipe();
    assert.equal(store.groupCount, 0);
    assert.equal(store.seriesCount, 0);
  });

  run('readers own what unpack() returns', async ({ store }) => {
    await store.write({
      labels: { job: 'u' },
      families: [fam('x', 'gauge', [[{ a: 'b' }, 1]], 'help')],
      replace: true,
      check: true,
    });
    const sf = [...store.groups()][0].families.get('x')!;
    const mf = sf.unpack();
    mf.metrics[0].value = 99;
    mf.metrics.push({ labels: [], value: 1 });
    assert.equal(sf.unpack().metrics.length, 1);
    assert.equal(sf.unpack().metrics[0].value, 1);
    assert.equal(sf.lines(), 'x{a="b",instance="",job="u"} 1\n');
    assert.equal(sf.lines(), sf.lines(), 'the same string each time');
  });

  run('the change feed numbers every change and replays to the same state', async ({ store, fresh }) => {
    const changes: StoreChange[] = [];
    const stop = store.subscribe((c) => changes.push(c));
    const start = store.version;
    await store.write({
      labels: { job: 'a' },
      families: [fam('x', 'gauge', [[{}, 1]])],
      replace: true,
      check: true,
      timestampMs: 1000,
    });
    await store.write({
      labels: { job: 'b' },
      families: [fam('x', 'counter', [[{}, 1]])],
      replace: true,
      check: true,
      timestampMs: 2000,
    });
    await store.write({
      labels: { job: 'a' },
      families: [fam('y', 'gauge', [[{ l: 'v' }, 2]])],
      replace: false,
      check: true,
      timestampMs: 3000,
    });
    await store.delete({ job: 'b' });
    await store.write({
      labels: { job: 'c' },
      families: [fam('z', 'untyped', [[{}, 3]])],
      replace: true,
      check: false,
      timestampMs: 4000,
    });
    stop();
    assert.deepEqual(
      changes.map((c) => c.version),
      changes.map((_, i) => start + i + 1),
      'one version per change, no gaps',
    );
    assert.equal(store.version, start + changes.length);
    assert.deepEqual(changes[0].families.slice().sort(), ['push_failure_time_seconds', 'push_time_seconds', 'x']);
    assert.equal(
      changes[1].record !== undefined && 'write' in changes[1].record && changes[1].record.ok,
      false,
      'the refused write is announced as such',
    );
    const copy = await fresh();
    for (const c of changes) copy.replay(c.record as ChangeRecord);
    assert.deepEqual(view(copy), view(store));
    await copy.close();
  });

  run('a text body is stored as its parsed families, pushed again and again in the same shape', async (subject) => {
    const { store, fresh } = subject;
    const changes: StoreChange[] = [];
    const stop = store.subscribe((c) => changes.push(c));
    const labels = { instance: 'i', job: 't' };
    const body = (v: number) =>
      `# HELP x Ex.\n# TYPE x gauge\nx{a="1"} ${v}\nx{a="0"} ${v / 4}\n# TYPE h histogram\n` +
      `h_bucket{le="1"} ${v}\nh_bucket{le="+Inf"} ${v + 2}\nh_sum 1.5\nh_count ${v + 2}\n`;
    const twin = await fresh();
    for (let v = 1; v <= 5; v++) {
      const text = Buffer.from(body(v));
      const parsed = () => parseTextBytes(text);
      const req = { labels, replace: true, check: true, timestampMs: 1000 * v };
      assert.deepEqual(
        await store.write({ ...req, families: Promise.resolve({ text, parse: async () => parsed() }) }),
        {
          ok: true,
        },
      );
      await twin.write({ ...req, families: parsed() });
      assert.equal(valueOf(store, labels, 'x'), v);
      assert.deepEqual(view(store), view(twin));
    }
    stop();
    const copy = await fresh();
    for (const c of changes) copy.replay(c.record as ChangeRecord);
    assert.deepEqual(view(copy), view(store), 'the change feed replays to the same state');
    await copy.close();
    await twin.close();
    if (subject.reopen !== undefined) {
      const before = view(store);
      assert.deepEqual(view(await subject.reopen()), before, 'a restart gives it back');
    }
  });

  run('is healthy and ready', async ({ store }) => {
    assert.deepEqual(store.health(), { healthy: true, ready: true });
  });

  run('a restart gives back every group as it was', async (subject) => {
    if (subject.reopen === undefined) return;
    const { store } = subject;
    await store.write({
      labels: { job: 'r', instance: 'i' },
      families: [
        fam(
          'x',
          'gauge',
          [
            [{ a: '1' }, 1],
            [{ a: '0' }, 0],
          ],
          'h',
        ),
      ],
      replace: true,
      check: true,
      timestampMs: 1000,
    });
    const native: MetricFamily = {
      name: 'nh',
      type: 'histogram',
      metrics: [
        {
          labels: [],
          histogram: {
            sampleCount: 3,
            sampleSum: 1.5,
            buckets: [],
            schema: 1,
            zeroThreshold: 0.001,
            zeroCount: 1,
            positiveSpans: [{ offset: 0, length: 1 }],
            positiveDeltas: [2],
          },
        },
      ],
    };
    await store.write({ labels: { job: 'r' }, families: [native], replace: true, check: true, timestampMs: 2000 });
    await store.write({
      labels: { job: 'r' },
      families: [fam('x', 'counter', [[{}, 1]])],
      replace: false,
      check: true,
      timestampMs: 3000,
    });
    const before = view(store);
    const again = await subject.reopen();
    assert.deepEqual(view(again), before);
    assert.equal(again.groupCount, 2);
  });

  /** PUT of `series` series of family x to job `job`. */
  const put = (store: MetricStore, job: string, series: number, replace = true): Promise<WriteResult> =>
    store.write({
      labels: { job },
      families: [
        fam(
          'x',
          'gauge',
          Array.from({ length: series }, (_, i): [Record<string, string>, number] => [{ i: String(i) }, i]),
        ),
      ],
      replace,
      check: true,
      timestampMs: 1000,
    });

  /** Asserts that `write` is refused for `reason` and changes nothing, announced or kept. */
  async function refusedUnchanged(subject: ContractSubject, write: Promise<WriteResult>, reason: string, flag: RegExp) {
    const { store } = subject;
    const before = view(store);
    const version = store.version;
    const changes: StoreChange[] = [];
    const stop = store.subscribe((c) => changes.push(c));
    const r = await write;
    stop();
    assert.equal(r.ok, false);
    assert.equal((r as { refused?: string }).refused, reason);
    assert.match((r as { error: string }).error, flag);
    assert.deepEqual(view(store), before, 'not even push_failure_time_seconds is stamped');
    assert.equal(store.version, version);
    assert.deepEqual(changes, []);
  }

  run(
    'writes beyond the most groups or series are refused and change nothing; replacing and deleting pass',
    async (subject) => {
      const { store } = subject;
      assert.equal((await put(store, 'a', 2)).ok, true);
      assert.equal((await put(store, 'b', 1)).ok, true);
      assert.equal(store.seriesCount, 7, 'two push-time series per group');
      await refusedUnchanged(subject, put(store, 'c', 1), 'groups', /--push\.max-groups/);
      // 7 + 4 > 10, also as a POST that adds a family.
      await refusedUnchanged(subject, put(store, 'a', 6), 'series', /--push\.max-total-series/);
      await refusedUnchanged(
        subject,
        store.write({
          labels: { job: 'b' },
          families: [
            fam('y', 'gauge', [[{}, 1]]),
            fam('z', 'gauge', [
              [{ a: '1' }, 1],
              [{ a: '2' }, 1],
              [{ a: '3' }, 1],
            ]),
          ],
          replace: false,
          check: true,
        }),
        'series',
        /--push\.max-total-series/,
      );
      // As many series or fewer always pass; growth up to the limit too.
      assert.equal((await put(store, 'a', 2)).ok, true);
      assert.equal((await put(store, 'a', 5)).ok, true);
      assert.equal(store.seriesCount, 10);
      assert.equal((await put(store, 'a', 1)).ok, true);
      // A verdict of the consistency check is still given for a write that adds nothing.
      const inconsistent = await store.write({
        labels: { job: 'b' },
        families: [fam('x', 'counter', [[{}, 1]])],
        replace: true,
        check: true,
      });
      assert.equal(inconsistent.ok, false);
      assert.equal((inconsistent as { refused?: string }).refused, undefined);
      await store.delete({ job: 'b' });
      assert.equal((await put(store, 'c', 1)).ok, true);
      if (subject.reopen !== undefined) {
        const before = view(store);
        assert.deepEqual(view(await subject.reopen()), before, 'refused writes were never kept');
      }
    },
    new StoreLimits({ maxGroups: 2, maxTotalSeries: 10, memoryGuardPercent: 0 }),
  );

  const heap = { used: 0, limit: 1000 };
  run(
    'while memory is nearly full, writes that add groups or series are refused; the rest pass',
    async (subject) => {
      const { store } = subject;
      assert.equal((await put(store, 'a', 3)).ok, true);
      heap.used = 950;
      await refusedUnchanged(subject, put(store, 'b', 1), 'memory', /memory is nearly full .*max-old-space-size/);
      await refusedUnchanged(subject, put(store, 'a', 4), 'memory', /memory is nearly full/);
      assert.deepEqual(await put(store, 'a', 3), { ok: true });
      assert.deepEqual(await put(store, 'a', 1, false), { ok: true }, 'a POST that replaces x with fewer');
      await store.delete({ job: 'a' });
      assert.equal(store.groupCount, 0);
      heap.used = 100;
      assert.deepEqual(await put(store, 'b', 1), { ok: true });
    },
    new StoreLimits({ maxGroups: 0, maxTotalSeries: 0, memoryGuardPercent: 90 }, undefined, () => heap),
  );

  run(
    'a change it cannot make durable is refused, not applied, not kept; writes are taken again later',
    async (subject) => {
      const { store, refuse, reopen } = subject;
      if (refuse === undefined || reopen === undefined) return;
      const put = (job: string, value: number) =>
        store.write({
          labels: { job },
          families: [fam('x', 'gauge', [[{}, value]])],
          replace: true,
          check: true,
          timestampMs: 1000 * value,
        });
      assert.deepEqual(await put('a', 1), { ok: true });
      const before = view(store);
      refuse(true);
      await assert.rejects(put('a', 2), StoreUnavailableError);
      await assert.rejects(put('b', 3), StoreUnavailableError);
      await assert.rejects(store.delete({ job: 'a' }), StoreUnavailableError);
      await assert.rejects(store.wipe(), StoreUnavailableError);
      assert.deepEqual(view(store), before);
      refuse(false);
      // A store may wait a moment before it tries its disk again.
      for (let i = 0; ; i++) {
        try {
          assert.deepEqual(await put('b', 4), { ok: true });
          break;
        } catch (e) {
          if (!(e instanceof StoreUnavailableError) || i >= 50) throw e;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      const after = view(store);
      assert.deepEqual([...store.groups()].map((g) => g.labels.job).sort(), ['a', 'b']);
      assert.deepEqual(view(await reopen()), after);
    },
  );

  const pushTo = (store: MetricStore, job: string, name: string, extra: Partial<WriteRequest> = {}) =>
    store.write({ labels: { job }, families: [fam(name, 'gauge', [[{}, 1]])], replace: false, check: true, ...extra });

  /** Waits (up to 5 s) until the group is gone; the milliseconds that took. */
  async function gone(store: MetricStore, job: string): Promise<number> {
    const start = Date.now();
    while ([...store.groups()].some((g) => g.labels.job === job)) {
      assert.ok(Date.now() - start < 5000, `group ${job} still there after 5 s`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return Date.now() - start;
  }

  run('a group expires after its TTL, announced as a delete; a group without one stays', async ({ store }) => {
    const changes: StoreChange[] = [];
    store.subscribe((c) => changes.push(c));
    await pushTo(store, 'short', 'x', { ttlMs: 300 });
    await pushTo(store, 'forever', 'y');
    assert.equal(store.expiry.scheduled, 1);
    const g = [...store.groups()].find((x) => x.labels.job === 'short')!;
    assert.equal(g.ttlMs, 300);
    const deadline = store.expiry.deadline(g)!;
    assert.ok(Math.abs(deadline - (Date.now() + 300)) < 1000, 'deadline is the push time plus the TTL');
    await gone(store, 'short');
    assert.ok(Date.now() >= deadline, 'not before its deadline');
    assert.deepEqual(changes.at(-1)?.record, { delete: { job: 'short' } });
    // A shared store counts the removal when Redis answers its commit, which can come a moment
    // after its own change feed has taken the group out of the view.
    for (const start = Date.now(); store.expiry.expired === 0 && Date.now() - start < 1000;)
      await new Promise((r) => setTimeout(r, 10));
    assert.equal(store.expiry.expired, 1);
    assert.equal(store.expiry.scheduled, 0);
    assert.deepEqual(
      [...store.groups()].map((x) => x.labels.job),
      ['forever'],
    );
  });

  run('a successful push moves the deadline on; a failed one does not', async ({ store }) => {
    await pushTo(store, 'a', 'x', { ttlMs: 600 });
    await new Promise((r) => setTimeout(r, 300));
    await pushTo(store, 'a', 'x'); // no header: the group keeps its TTL
    const g = () => [...store.groups()].find((x) => x.labels.job === 'a')!;
    const after = store.expiry.deadline(g())!;
    assert.ok(after >= Date.now() + 500, 'the deadline counts from the last push');
    const stamped: MetricFamily = { name: 'x', type: 'gauge', metrics: [{ labels: [], value: 1, timestampMs: 5 }] };
    const failed = await pushTo(store, 'a', 'x', { families: [stamped] });
    assert.equal(failed.ok, false);
    assert.equal(store.expiry.deadline(g()), after, 'a failed push leaves the deadline');
    await gone(store, 'a');
  });

  run(
    'the default TTL applies to groups without one; Pushgateway-TTL 0 keeps a group for ever',
    async ({ store }) => {
      assert.equal(store.expiry.defaultTtlMs, 250);
      await pushTo(store, 'default', 'x');
      await pushTo(store, 'kept', 'y', { ttlMs: 0 });
      await gone(store, 'default');
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(
        [...store.groups()].map((x) => x.labels.job),
        ['kept'],
      );
      assert.equal(store.expiry.scheduled, 0);
    },
    undefined,
    { defaultTtlMs: 250 },
  );

  run('a push to a group past its deadline comes after its removal, as after a DELETE', async ({ store }) => {
    const changes: StoreChange[] = [];
    store.subscribe((c) => changes.push(c));
    // Pushed 10 s ago with a TTL of 5 s: due before the push below, whichever runs first.
    await pushTo(store, 'r', 'old', { ttlMs: 5000, timestampMs: Date.now() - 10_000 });
    assert.deepEqual(await pushTo(store, 'r', 'new'), { ok: true });
    const g = [...store.groups()].find((x) => x.labels.job === 'r')!;
    assert.deepEqual([...g.families.keys()].sort(), ['new', 'push_failure_time_seconds', 'push_time_seconds']);
    const kinds = changes.map((c) => (c.record === undefined ? '?' : Object.keys(c.record)[0]));
    assert.deepEqual(kinds.slice(-2), ['delete', 'write']);
    assert.equal(g.ttlMs, undefined, 'the TTL the group had is gone with it, the new group has the default');
  });

  run(
    'a push whose body arrives after its group expired is applied after the removal, never lost',
    async ({ store }) => {
      await pushTo(store, 'slow', 'old', { ttlMs: 200 });
      const body = deferred<MetricFamily[]>();
      // Called before the deadline, its body still arriving when the deadline passes.
      const pending = store.write({ labels: { job: 'slow' }, families: body.promise, replace: false, check: true });
      await new Promise((r) => setTimeout(r, 600));
      body.resolve([fam('new', 'gauge', [[{}, 1]])]);
      assert.deepEqual(await pending, { ok: true });
      const g = [...store.groups()].find((x) => x.labels.job === 'slow')!;
      assert.deepEqual([...g.families.keys()].sort(), ['new', 'push_failure_time_seconds', 'push_time_seconds']);
      assert.equal(store.expiry.expired, 1);
    },
  );

  run('a TTL and the last push time survive a restart', async (subject) => {
    if (subject.reopen === undefined) return;
    await pushTo(subject.store, 'kept', 'x', { ttlMs: 3_600_000 });
    await pushTo(subject.store, 'never', 'x', { ttlMs: 0 });
    await pushTo(subject.store, 'plain', 'y');
    const deadlines = (s: MetricStore) =>
      [...s.groups()].map((g) => [g.labels.job, g.ttlMs, s.expiry.deadline(g)]).sort();
    const before = deadlines(subject.store);
    const again = await subject.reopen();
    assert.deepEqual(deadlines(again), before);
    assert.equal(again.expiry.scheduled, 1);
  });
}
