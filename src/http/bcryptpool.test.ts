// The bcrypt pool: real bcrypt on worker threads while the event loop keeps turning, the bounds
// (in all and per source), blocks for sources whose checks keep failing, what clients see beyond
// them, a dead worker replaced, idle workers stopped, and the worker script found beside the
// built module.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { RequestListener } from 'node:http';
import { inject, type InjectReply } from '../testing/inject.js';
import { BCRYPT_WORKER, BcryptPool, RetryLaterError } from './bcryptpool.js';
import { Authenticator, parseWebConfig, webConfigGuard } from './webconfig.js';
import { fixedWebConfig } from '../testing/webconfig.js';

/** bcrypt('secret') at cost 12: hundreds of milliseconds per check in bcryptjs. */
const SLOW_HASH = '$2b$12$BVHhM648LfL3snlUXYymhem0f9NKDK0JanFKKfzBRm09mHHFNqTCS';
/** bcrypt('secret') at cost 10, the usual cost: still far slower than answering a request without a check. */
const HASH = '$2b$10$PbpTBu.tfbAOpQkgZsHPJ.kRqFi.aY6G.q.qQfq3UU0EhQ/cm8OjW';

const basic = (user: string, password: string) => 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');

const dir = mkdtempSync(path.join(tmpdir(), 'bcryptpool-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A worker speaking the pool's protocol that dies on the password "crash" and matches only "fine". */
function crashingScript(): URL {
  const file = path.join(dir, 'crashing-worker.mjs');
  writeFileSync(
    file,
    "import { parentPort } from 'node:worker_threads';\n" +
      "parentPort.on('message', (m) => {\n" +
      "  if (m.password === 'crash') process.exit(7);\n" +
      "  parentPort.postMessage({ ok: m.password === 'fine' });\n" +
      '});\n',
  );
  return pathToFileURL(file);
}

test('the worker script is found beside the built module', () => {
  const here = path.dirname(fileURLToPath(import.meta.url));
  assert.equal(fileURLToPath(BCRYPT_WORKER), path.join(here, 'bcryptworker.js'));
  assert.ok(existsSync(BCRYPT_WORKER), `${fileURLToPath(BCRYPT_WORKER)} missing`);
});

test('a cost-12 check runs off the event loop: timers keep firing meanwhile', async () => {
  const pool = new BcryptPool({ size: 1 });
  // Start the worker first, so that only the check itself is timed.
  assert.equal(await pool.compare('x', '$2b$04$' + 'a'.repeat(53), 'warm'), false);
  let ticks = 0;
  const everyMs = 10;
  const timer = setInterval(() => ticks++, everyMs);
  const t0 = performance.now();
  const right = await pool.compare('secret', SLOW_HASH, 'a');
  const elapsed = performance.now() - t0;
  clearInterval(timer);
  assert.equal(right, true);
  assert.ok(elapsed > 100, `a cost-12 check took only ${elapsed.toFixed(0)} ms`);
  // On the event loop (bcryptjs yields every 100 ms) a timer would fire about once per 100 ms.
  const expected = elapsed / everyMs;
  assert.ok(
    ticks >= expected / 4,
    `${ticks} ticks in ${elapsed.toFixed(0)} ms (expected about ${expected.toFixed(0)})`,
  );
  await pool.close();
});

test(
  "the worker thread runs at the lowest priority, the event loop at the process's",
  { skip: process.platform !== 'linux' },
  async () => {
    const nices = () =>
      readdirSync('/proc/self/task').map((tid) => {
        const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
      });
    const pool = new BcryptPool({ size: 1 });
    assert.equal(await pool.compare('x', '$2b$04$' + 'a'.repeat(53), 'warm'), false);
    const all = nices();
    // At least the worker's thread (threads it starts, such as V8's, may inherit its nice value).
    assert.ok(all.filter((n) => n === 19).length >= 1, `thread nice values ${all.join(' ')}`);
    assert.notEqual(all[0], 19); // the main thread's own task is listed first
    await pool.close();
  },
);

test('bounds: per source first (429), then in all (503); refused checks run no bcrypt and free nothing', async () => {
  const pool = new BcryptPool({ size: 1, maxPending: 3, maxPerSource: 2 });
  const a1 = pool.compare('secret', HASH, 'A');
  const a2 = pool.compare('wrong', HASH, 'A');
  assert.throws(
    () => pool.compare('wrong2', HASH, 'A'),
    (e) => e instanceof RetryLaterError && e.status === 429 && e.retryAfterS === 1,
  );
  const b1 = pool.compare('wrong', HASH, 'B');
  assert.equal(pool.pending, 3);
  assert.throws(
    () => pool.compare('wrong', HASH, 'C'),
    (e) => e instanceof RetryLaterError && e.status === 503 && /busy/.test(e.message),
  );
  assert.deepEqual(await Promise.all([a1, a2, b1]), [true, false, false]);
  assert.equal(pool.pending, 0);
  assert.equal(await pool.compare('secret', HASH, 'A'), true);
  await pool.close();
  assert.throws(
    () => pool.compare('secret', HASH, 'A'),
    (e) => e instanceof RetryLaterError && e.status === 503,
  );
});

test('a source refused for its bound again and again is blocked while its checks have not ended', async () => {
  // A worker that never answers: on a busy machine checks end too late to block a flood by failures.
  const file = path.join(dir, 'silent-worker.mjs');
  writeFileSync(file, "import { parentPort } from 'node:worker_threads';\nparentPort.on('message', () => {});\n");
  const pool = new BcryptPool({
    size: 1,
    maxPerSource: 1,
    freeFailures: 2,
    refusalDelayMs: 0,
    script: pathToFileURL(file),
  });
  const stuck = pool.compare('w0', HASH, 'A').catch((e: unknown) => e);
  try {
    for (let i = 1; i <= 3; i++) assert.throws(() => pool.compare(`w${i}`, HASH, 'A'), /under way/);
    assert.ok(pool.blockedMs('A') > 0, 'blocked after its free failures');
    assert.throws(
      () => pool.compare('w4', HASH, 'A'),
      (e) =>
        e instanceof RetryLaterError && e.message === '3 failed or refused password checks from A; try again in 1 s',
    );
    assert.equal(pool.blockedMs('B'), 0);
  } finally {
    await pool.close(); // the check that never ends is failed here, and its worker stopped
  }
  assert.ok((await stuck) instanceof RetryLaterError);
});

test('a source whose checks keep failing is blocked, twice as long each time; others are checked; a match clears it', async () => {
  const pool = new BcryptPool({ size: 1, freeFailures: 2, blockMs: 1000, maxBlockMs: 2000, refusalDelayMs: 0 });
  const blocked = (failures: number, seconds: number) => (e: unknown) =>
    e instanceof RetryLaterError &&
    e.status === 429 &&
    e.retryAfterS === seconds &&
    e.message === `${failures} failed or refused password checks from A; try again in ${seconds} s`;
  assert.equal(await pool.compare('w1', HASH, 'A'), false);
  assert.equal(await pool.compare('w2', HASH, 'A'), false); // the free failures
  assert.equal(await pool.compare('w3', HASH, 'A'), false);
  const t0 = performance.now();
  assert.throws(() => pool.compare('secret', HASH, 'A'), blocked(3, 1), 'blocked, even with the right password');
  assert.equal(pool.pending, 0, 'a blocked source runs no bcrypt');
  assert.equal(await pool.compare('secret', HASH, 'B'), true, 'another source is checked');
  // Let in again once its block (1 s) has passed; the next failure blocks it twice as long, the
  // one after that no longer than maxBlockMs.
  while (performance.now() - t0 < 1000) await new Promise((r) => setTimeout(r, 20));
  assert.equal(await pool.compare('w4', HASH, 'A'), false);
  assert.throws(() => pool.compare('w5', HASH, 'A'), blocked(4, 2));
  // A match clears a source: its next failures are free ones again.
  for (const password of ['w1', 'w2', 'secret', 'w3', 'w4']) await pool.compare(password, HASH, 'C');
  assert.equal(await pool.compare('w5', HASH, 'C'), false, 'two failures since the match: not blocked');
  assert.throws(() => pool.compare('w6', HASH, 'C'), RetryLaterError);
  await pool.close();
});

test("an unknown user's stand-in password counts as a failure, not a match that clears the address", async () => {
  const pool = new BcryptPool({ size: 1, freeFailures: 2, blockMs: 60_000, refusalDelayMs: 0 });
  const auth = new Authenticator(100, pool);
  const config = parseWebConfig(`basic_auth_users:\n  alice: ${HASH}\n`, '/x.yml');
  assert.equal(await auth.authorize(basic('alice', 'w1'), config, 'A'), false);
  // The toolkit's stand-in hash for unknown users is bcrypt("fakepassword").
  assert.equal(await auth.authorize(basic('nobody', 'fakepassword'), config, 'A'), false);
  assert.equal(await auth.authorize(basic('alice', 'w2'), config, 'A'), false);
  await assert.rejects(
    Promise.resolve(auth.authorize(basic('alice', 'w3'), config, 'A')),
    (e) => e instanceof RetryLaterError && e.status === 429,
  );
  await pool.close();
});

test('a worker that dies fails its check with a 503 and is replaced', async () => {
  const pool = new BcryptPool({ size: 1, script: crashingScript() });
  const queued = pool.compare('fine', 'h', 'x');
  await assert.rejects(pool.compare('crash', 'h', 'x'), (e) => {
    assert.ok(e instanceof RetryLaterError);
    assert.equal(e.status, 503);
    assert.match(e.message, /worker thread stopped/);
    return true;
  });
  assert.equal(await queued, true); // sent before the crash, answered by the same worker
  assert.equal(await pool.compare('fine', 'h', 'x'), true); // a new worker
  assert.equal(pool.workers, 1);
  assert.equal(pool.pending, 0);
  await pool.close();
});

test('an idle worker stops; the next check starts another', async () => {
  const pool = new BcryptPool({ size: 1, idleMs: 20 });
  assert.equal(await pool.compare('secret', '$2b$04$' + 'a'.repeat(53), 'x'), false);
  assert.equal(pool.workers, 1);
  const deadline = Date.now() + 5000;
  while (pool.workers > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.equal(pool.workers, 0);
  assert.equal(await pool.compare('x', '$2b$04$' + 'a'.repeat(53), 'x'), false);
  await pool.close();
});

test('workers do not keep the process alive once their checks are answered', () => {
  const module = pathToFileURL(path.join(path.dirname(fileURLToPath(import.meta.url)), 'bcryptpool.js')).href;
  const script =
    `import { BcryptPool } from ${JSON.stringify(module)};\n` +
    'const pool = new BcryptPool({ size: 1 });\n' +
    `const ok = await pool.compare('secret', ${JSON.stringify(SLOW_HASH)}, 's');\n` +
    "process.stdout.write(ok ? 'matched' : 'no match');\n";
  const t0 = Date.now();
  // The pool's default idle time is 30 s: exiting well before it means the idle worker did not hold the process.
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'matched');
  assert.ok(Date.now() - t0 < 20_000);
});

describe('webConfigGuard with a saturated pool', () => {
  const inner: RequestListener = (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end('inner');
  };
  const guarded = (pool: BcryptPool) => {
    const source = fixedWebConfig(
      `basic_auth_users:\n  alice: ${HASH}\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\n`,
    );
    return webConfigGuard(source, undefined, new Authenticator(100, pool))(inner);
  };
  /** Each answer with the order it arrived in. */
  const ordered = () => {
    let n = 0;
    return (p: Promise<InjectReply>) => p.then((r) => ({ ...r, order: n++ }));
  };

  test('N+1 unverified credentials: the extra one gets 503 before any check ends; a verified one passes meanwhile', async () => {
    const N = 3;
    const pool = new BcryptPool({ size: 1, maxPending: N, maxPerSource: N, refusalDelayMs: 0 });
    const listener = guarded(pool);
    const get = (password: string, remoteAddress = '10.0.0.1') =>
      inject(listener, { url: '/-/ready', headers: { Authorization: basic('alice', password) }, remoteAddress });
    assert.equal((await get('secret')).status, 200); // verified and cached
    const seq = ordered();
    const flood = Array.from({ length: N + 1 }, (_, i) => seq(get(`wrong${i}`, `10.0.1.${i}`)));
    const good = seq(get('secret'));
    const answers = await Promise.all([...flood, good]);
    const denied = answers.filter((r) => r.status === 401);
    const busy = answers.filter((r) => r.status === 503);
    assert.equal(denied.length, N);
    assert.equal(busy.length, 1);
    assert.equal(busy[0].text, 'the gateway is busy checking other passwords; try again later\n');
    assert.equal(busy[0].headers['retry-after'], '1');
    assert.equal(busy[0].headers['x-frame-options'], 'deny'); // the configured headers, as on every answer
    assert.equal(busy[0].headers['content-type'], 'text/plain; charset=utf-8');
    const ok = answers[N + 1];
    assert.equal(ok.status, 200);
    assert.equal(ok.text, 'inner');
    // Neither the refusal nor the verified request waited for a bcrypt check.
    for (const r of denied) {
      assert.ok(busy[0].order < r.order, 'the 503 came after a bcrypt verdict');
      assert.ok(ok.order < r.order, 'the verified request waited for a bcrypt check');
      assert.equal(r.headers['www-authenticate'], 'Basic');
      assert.equal(r.text, 'Unauthorized\n');
    }
    await pool.close();
  });

  test('one source over its bound gets 429, held for the refusal delay; another source is still checked', async () => {
    const pool = new BcryptPool({ size: 1, maxPending: 10, maxPerSource: 2, refusalDelayMs: 300 });
    const listener = guarded(pool);
    const get = (password: string, remoteAddress: string) => {
      const t0 = performance.now();
      return inject(listener, {
        url: '/-/ready',
        headers: { Authorization: basic('alice', password) },
        remoteAddress,
      }).then((r) => ({ ...r, ms: performance.now() - t0 }));
    };
    // The held refusal's timer does not keep the process alive: once the checks end, nothing else would.
    const keepAlive = setInterval(() => {}, 50);
    const answers = await Promise.all([
      get('w1', '10.0.0.9'),
      get('w2', '10.0.0.9'),
      get('w3', '10.0.0.9'),
      get('secret', '10.0.0.8'),
    ]).finally(() => clearInterval(keepAlive));
    assert.deepEqual(
      answers.map((r) => r.status),
      [401, 401, 429, 200],
    );
    assert.equal(answers[2].text, 'too many password checks from 10.0.0.9 under way; try again later\n');
    assert.equal(answers[2].headers['retry-after'], '1');
    assert.ok(answers[2].ms >= 290, `the refusal came after ${answers[2].ms.toFixed(0)} ms`);
    await pool.close();
  });

  test('a blocked source gets 429 held up to maxHoldMs, with Retry-After the rest of its block; verified ones pass', async () => {
    const pool = new BcryptPool({ size: 1, freeFailures: 1, blockMs: 60_000, refusalDelayMs: 0, maxHoldMs: 300 });
    const listener = guarded(pool);
    const get = (password: string, remoteAddress: string) => {
      const t0 = performance.now();
      return inject(listener, {
        url: '/-/ready',
        headers: { Authorization: basic('alice', password) },
        remoteAddress,
      }).then((r) => ({ ...r, ms: performance.now() - t0 }));
    };
    assert.equal((await get('secret', '10.0.0.7')).status, 200); // verified and cached
    assert.equal((await get('w1', '10.0.0.7')).status, 401);
    assert.equal((await get('w2', '10.0.0.7')).status, 401);
    const keepAlive = setInterval(() => {}, 50); // the held answer's timer does not keep the process alive
    const refused = await get('w3', '10.0.0.7');
    clearInterval(keepAlive);
    assert.equal(refused.status, 429);
    assert.equal(refused.text, '2 failed or refused password checks from 10.0.0.7; try again in 60 s\n');
    assert.equal(refused.headers['retry-after'], '60');
    assert.ok(refused.ms >= 290, `held ${refused.ms.toFixed(0)} ms`);
    const cached = await get('secret', '10.0.0.7');
    assert.equal(cached.status, 200, 'a verified credential from the blocked address');
    assert.ok(cached.ms < 250, `not held (${cached.ms.toFixed(0)} ms)`);
    await pool.close();
  });

  test('a worker dying during a check: that request gets 503 with a sentence, the next is checked', async () => {
    const pool = new BcryptPool({ size: 1, script: crashingScript() });
    const listener = guarded(pool);
    const get = (password: string) =>
      inject(listener, { url: '/', headers: { Authorization: basic('alice', password) }, remoteAddress: '10.0.0.1' });
    const crashed = await get('crash');
    assert.equal(crashed.status, 503);
    assert.equal(crashed.text, 'the password check failed (its worker thread stopped); try again\n');
    assert.equal((await get('crash')).status, 503); // not cached as a verdict
    assert.equal((await get('fine')).status, 200);
    await pool.close();
  });
});
