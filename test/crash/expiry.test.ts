// Group expiry across kill -9 with --persistence.sync (docs/expiry.md, "Restart"): a real gateway
// process, real files, SIGKILL by the PID we started, a restart on the same file. Checked after
// each restart, as soon as the gateway is ready:
//  - no group whose deadline has passed comes back (its removal was in the log, or it is found
//    overdue at the start and removed before the gateway answers);
//  - no group whose deadline has not passed is lost;
//  - a re-push acknowledged just around its group's deadline (before or after the expiry; both
//    orders are allowed) is kept, with the TTL it brought.
// Kills: once before any deadline, once in the middle of a run of deadlines a few tens of
// milliseconds apart (some groups removed and logged, some not yet due).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startServer, type RunningServer } from '../support/servers.js';

const dir = mkdtempSync(path.join(tmpdir(), 'pgw-expiry-crash-'));
const running = new Set<RunningServer>();
after(async () => {
  for (const s of running) await s.stop();
  rmSync(dir, { recursive: true, force: true });
});
const agent = new Agent({ keepAlive: true });

function send(
  port: number,
  method: string,
  urlPath: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path: urlPath, agent, headers, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('timeout', () => req.destroy(new Error(`timeout: ${method} ${urlPath}`)));
    req.on('error', reject);
    req.end(body);
  });
}

interface Pushed {
  name: string;
  /** The value of the last acknowledged push. */
  value: number;
  /** The deadline is the push's time plus the TTL: at least the request's start plus the TTL ... */
  dueFrom: number;
  /** ... and at most its answer's plus the TTL. */
  deadlineMs: number;
}

/** PUTs `expiry_value <value>` to job=<name> with a TTL; resolves once acknowledged (200). */
async function push(port: number, name: string, value: number, ttlMs: number): Promise<Pushed> {
  const sentAt = Date.now();
  const r = await send(port, 'PUT', `/metrics/job/${name}`, `expiry_value ${value}\n`, {
    'Pushgateway-TTL': `${ttlMs}ms`,
  });
  assert.equal(r.status, 200, `push ${name}: ${r.body}`);
  return { name, value, dueFrom: sentAt + ttlMs, deadlineMs: Date.now() + ttlMs };
}

async function stored(port: number): Promise<Map<string, { value: number; ttl: string | undefined }>> {
  const r = await send(port, 'GET', '/api/v1/metrics');
  assert.equal(r.status, 200);
  const data = JSON.parse(r.body) as {
    data: Array<{
      labels: { job: string };
      expiry?: { ttl: string };
      expiry_value?: { metrics: Array<{ value: string }> };
    }>;
  };
  return new Map(
    data.data.map((g) => [g.labels.job, { value: Number(g.expiry_value?.metrics[0].value), ttl: g.expiry?.ttl }]),
  );
}

async function start(file: string): Promise<RunningServer> {
  const s = await startServer(
    'ours',
    [`--persistence.file=${file}`, '--persistence.sync', '--persistence.interval=1h'],
    {
      timeoutMs: 30_000,
    },
  );
  running.add(s);
  return s;
}

async function kill9(s: RunningServer): Promise<void> {
  const exited = new Promise<void>((resolve) => s.proc.once('exit', () => resolve()));
  s.proc.kill('SIGKILL');
  await exited;
  running.delete(s);
}

const sleepUntil = (t: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, t - Date.now())));

/**
 * What a gateway ready at `readyAt` and read at `readAt` must show: groups past their deadline at
 * `readyAt` gone (removed before it answered), groups not due by `readAt` there with their value.
 * Groups due in between may be either (the timer's second of precision).
 */
function check(
  t: { diagnostic: (s: string) => void },
  got: Map<string, { value: number; ttl: string | undefined }>,
  groups: Pushed[],
  readyAt: number,
  readAt: number,
): void {
  let gone = 0;
  let kept = 0;
  for (const g of groups) {
    if (g.deadlineMs <= readyAt) {
      assert.equal(got.has(g.name), false, `${g.name} expired ${readyAt - g.deadlineMs} ms before the restart`);
      gone++;
    } else if (g.dueFrom > readAt) {
      assert.equal(got.get(g.name)?.value, g.value, `${g.name} (due in ${g.dueFrom - readAt} ms) is kept`);
      kept++;
    }
  }
  t.diagnostic(`${gone} expired groups gone, ${kept} unexpired kept, ${groups.length - gone - kept} due meanwhile`);
}

test('kill -9 before and during expiries with --persistence.sync: no expired group back, none unexpired lost, acknowledged re-pushes kept', async (t) => {
  const file = path.join(dir, 'store.data');
  let gw = await start(file);
  const long: Pushed[] = [];
  for (let i = 0; i < 3; i++) long.push(await push(gw.port, `long-${i}`, i, 3_600_000));
  // Twelve groups due 40 ms apart, from 6 s on; the second kill lands in the middle of them.
  const t0 = Date.now();
  const short: Pushed[] = [];
  for (let i = 0; i < 12; i++) short.push(await push(gw.port, `short-${i}`, i, 6000 - (Date.now() - t0) + 40 * i));
  // Racers: a 1.5 s TTL, re-pushed from 30 ms before to 30 ms after the deadline with a TTL of an hour.
  const racers: Pushed[] = [];
  for (let i = 0; i < 4; i++) racers.push(await push(gw.port, `racer-${i}`, 1, 1500));
  for (const [i, r] of racers.entries()) {
    await sleepUntil(r.deadlineMs - 30 + 20 * i);
    racers[i] = await push(gw.port, r.name, 2, 3_600_000);
  }

  // First kill: right after the racers' acknowledgements, before any short group is due.
  await kill9(gw);
  gw = await start(file);
  let readyAt = Date.now();
  let got = await stored(gw.port);
  check(t, got, [...long, ...short], readyAt, Date.now());
  for (const r of racers) {
    assert.deepEqual(got.get(r.name), { value: 2, ttl: '1h0m0s' }, `${r.name}: the acknowledged re-push is kept`);
  }

  // Second kill: in the middle of the run of short deadlines (the gateway removes and logs them meanwhile).
  await sleepUntil(short[6].deadlineMs);
  await kill9(gw);
  gw = await start(file);
  readyAt = Date.now();
  got = await stored(gw.port);
  check(t, got, [...long, ...short, ...racers], readyAt, Date.now());
  // A removal by expiry is logged without waiting for the disk (no request waits for it): those
  // not yet on disk at the kill are found overdue at the start, removed before it answers, and counted.
  const expiredAtStart = /groups whose TTL ran out while the gateway was down removed.*groups=(\d+)/.exec(gw.output());
  t.diagnostic(`removed at the start: ${expiredAtStart?.[1] ?? 0}`);
  assert.ok(expiredAtStart !== null, `the restart removes short groups not logged as expired: ${gw.output()}`);

  // And the survivors keep expiring on time after the restart.
  await sleepUntil(short[11].deadlineMs + 1500);
  got = await stored(gw.port);
  for (const g of short) assert.equal(got.has(g.name), false, `${g.name} expired after the restart`);
  for (const g of [...long, ...racers]) assert.equal(got.get(g.name)?.value, g.value, g.name);
  await gw.stop();
  running.delete(gw);
});
