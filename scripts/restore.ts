// Restore memory: `npm run build && node dist/scripts/restore.js [options]`.
//
// Loads a store into our gateway (persistence on, --max-old-space-size as given), measures its
// resident memory while serving, stops it (SIGTERM writes the snapshot), starts it again with the
// same flags and measures the restore: peak RSS (VmHWM, which covers the whole restore) against
// the steady RSS once restored, the time to /-/ready and the restore time the gateway logs. The
// same bodies are pushed to the Go reference (consistency check off, as the bench loads it)
// so the two persistence files can be compared. Servers are stopped by the PID started here.
//
// Options: --groups N (default 10000), --series N per group (default 100), --heap MiB
// (--max-old-space-size, default 256), --no-reference, --json FILE.
import { mkdtempSync, rmSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { NODE_FLAGS } from '../src/nodeflags.js';
import { freePort, OURS_MAIN, referenceAvailable, startServer, type RunningServer } from '../test/support/servers.js';

interface Options {
  groups: number;
  series: number;
  heapMiB: number;
  reference: boolean;
  json: string | undefined;
}

function parseOptions(argv: string[]): Options {
  const opts: Options = { groups: 10_000, series: 100, heapMiB: 256, reference: true, json: undefined };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const num = () => {
      const n = Number(inline ?? argv[++i]);
      if (!Number.isInteger(n) || n <= 0) throw new Error(`${flag} needs a positive whole number`);
      return n;
    };
    if (flag === '--groups') opts.groups = num();
    else if (flag === '--series') opts.series = num();
    else if (flag === '--heap') opts.heapMiB = num();
    else if (flag === '--no-reference') opts.reference = false;
    else if (flag === '--json') opts.json = inline ?? argv[++i];
    else throw new Error(`unknown option ${flag}`);
  }
  return opts;
}

const FAMILIES = 5;

/**
 * A group's body: five families sharing its series, values that change from group to group. Its
 * label names sort after `instance` and `job`, so groups' series do not interleave in a scrape
 * (a label such as `code` would make the scrape cache keep merged copies of every family).
 */
function body(g: number, series: number): string {
  const per = Math.ceil(series / FAMILIES);
  let out = '';
  let left = series;
  for (let f = 0; f < FAMILIES && left > 0; f++) {
    const name = ['http_requests_total', 'http_request_bytes', 'queue_depth', 'cpu_seconds', 'batch_items'][f];
    out += `# HELP ${name} Measured by the restore script (${f}).\n# TYPE ${name} ${f % 2 === 0 ? 'counter' : 'gauge'}\n`;
    for (let s = 0; s < per && left > 0; s++, left--) {
      const value = f % 2 === 0 ? String((g * 7919 + s * 104729) % 1_000_003) : ((g * 31 + s) / 977).toFixed(4);
      out += `${name}{method="${s % 3 === 0 ? 'GET' : 'POST'}",path="/api/v1/items/${s}",status="${200 + (s % 5)}"} ${value}\n`;
    }
  }
  return out;
}

async function push(base: string, opts: Options): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  const started = Date.now();
  let next = 0;
  const worker = async () => {
    while (next < opts.groups) {
      const g = next++;
      const data = body(g, opts.series);
      await new Promise<void>((resolve, reject) => {
        const req = request(
          `${base}/metrics/job/restore/instance/host-${String(g).padStart(6, '0')}`,
          { method: 'PUT', agent, headers: { 'content-length': Buffer.byteLength(data) } },
          (res) => {
            res.resume();
            res.on('end', () =>
              res.statusCode !== undefined && res.statusCode < 300
                ? resolve()
                : reject(new Error(`push ${g}: ${res.statusCode}`)),
            );
          },
        );
        req.on('error', reject);
        req.end(data);
      });
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  agent.destroy();
  return (Date.now() - started) / 1000;
}

function status(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (m === null) throw new Error(`no ${field} for ${pid}`);
  return Number(m[1]) / 1024;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** RSS once it has stopped falling (idle collection, V8's memory reducer), at most after 20 s. */
async function settledRss(pid: number): Promise<number> {
  let last = status(pid, 'VmRSS');
  for (let i = 0; i < 10; i++) {
    await sleep(2000);
    const now = status(pid, 'VmRSS');
    if (now > last - 1) return Math.min(now, last);
    last = now;
  }
  return last;
}

async function stop(s: RunningServer, timeoutMs = 300_000): Promise<void> {
  if (s.proc.exitCode !== null) return;
  const exited = new Promise<void>((r) => s.proc.once('exit', () => r()));
  s.proc.kill('SIGTERM');
  const timer = setTimeout(() => s.proc.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
  if (s.proc.exitCode !== 0) throw new Error(`${s.kind} exited with ${s.proc.exitCode}: ${s.output().slice(-2000)}`);
}

/**
 * Starts ours on the persisted file; the peak RSS of the restore is read as soon as the gateway
 * logs "metrics restored" (before it serves, and before the scrape cache's warm-up has done much).
 */
async function restore(
  flags: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ server: RunningServer; peak: number; logged: { ms: number; groups: number }; readyS: number }> {
  const port = await freePort();
  const spawned = Date.now();
  const proc = spawn(process.execPath, [...NODE_FLAGS, OURS_MAIN, `--web.listen-address=127.0.0.1:${port}`, ...flags], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  let out = '';
  let found: { peak: number; logged: { ms: number; groups: number } } | undefined;
  const onLog = (d: Buffer) => {
    out += d.toString();
    if (found !== undefined) return;
    const line = out.split('\n').find((l) => l.includes('"metrics restored"'));
    if (line !== undefined) found = { peak: status(proc.pid!, 'VmHWM'), logged: JSON.parse(line) as never };
  };
  proc.stdout.on('data', onLog);
  proc.stderr.on('data', onLog);
  const server: RunningServer = {
    kind: 'ours',
    url: `http://127.0.0.1:${port}`,
    port,
    proc,
    output: () => out,
    stop: () => Promise.resolve(),
  };
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      throw new Error(`restoring: ours exited with ${proc.exitCode ?? proc.signalCode}: ${out.slice(-2000)}`);
    }
    const ok = await fetch(`${server.url}/-/ready`, { signal: AbortSignal.timeout(5000) }).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok && found !== undefined) return { server, ...found, readyS: (Date.now() - spawned) / 1000 };
    await sleep(50);
  }
}

const mib = (n: number) => `${n.toFixed(1)} MiB`;

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const dir = mkdtempSync(path.join(tmpdir(), 'pgw-restore-'));
  const env = { ...process.env, NODE_OPTIONS: `--max-old-space-size=${opts.heapMiB}` };
  const file = path.join(dir, 'ours.data');
  const flags = [`--persistence.file=${file}`, '--persistence.interval=1h', '--log.format=json'];
  const series = opts.groups * opts.series;
  console.log(`${opts.groups} groups × ${opts.series} series = ${series} series, --max-old-space-size=${opts.heapMiB}`);
  try {
    const loader = await startServer('ours', flags, { env, timeoutMs: 60_000 });
    const loadS = await push(loader.url, opts);
    const servedRss = await settledRss(loader.proc.pid!);
    const stopping = Date.now();
    await stop(loader).catch((e: Error) => {
      throw new Error(`persisting: ${e.message}`);
    });
    const persistS = (Date.now() - stopping) / 1000;
    const size = statSync(file).size / 1048576;
    console.log(`loaded in ${loadS.toFixed(1)} s; serving RSS ${mib(servedRss)}`);
    console.log(`persisted on SIGTERM in ${persistS.toFixed(1)} s: ${mib(size)} file`);

    const restored = await restore(flags, env);
    const { pid } = restored.server.proc;
    const peakToReady = status(pid!, 'VmHWM');
    const steady = await settledRss(pid!);
    await stop(restored.server);
    const { peak, logged, readyS } = restored;
    console.log(
      `restored ${logged.groups} groups in ${(logged.ms / 1000).toFixed(2)} s (spawn to ready ${readyS.toFixed(2)} s)`,
    );
    console.log(
      `peak RSS during restore ${mib(peak)} (${mib(peakToReady)} up to ready), steady RSS after it ${mib(steady)}: ` +
        `${(peak / steady).toFixed(2)}×`,
    );

    let refSize: number | undefined;
    if (opts.reference && referenceAvailable()) {
      const refFile = path.join(dir, 'reference.data');
      const ref = await startServer(
        'reference',
        [`--persistence.file=${refFile}`, '--persistence.interval=1h', '--push.disable-consistency-check'],
        { timeoutMs: 60_000 },
      );
      const refLoadS = await push(ref.url, opts);
      await stop(ref);
      refSize = statSync(refFile).size / 1048576;
      console.log(
        `reference: loaded in ${refLoadS.toFixed(1)} s, ${mib(refSize)} file; ours / reference ${(size / refSize).toFixed(2)}×`,
      );
    }
    if (opts.json !== undefined) {
      const result = {
        ...opts,
        series,
        servedRss,
        persistS,
        size,
        refSize,
        readyS,
        restoreMs: logged.ms,
        peak,
        peakToReady,
        steady,
      };
      writeFileSync(opts.json, JSON.stringify(result, null, 2) + '\n');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
