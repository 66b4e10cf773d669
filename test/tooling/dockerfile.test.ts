// The Dockerfile, run without a container runtime (none, and no base image, can be fetched where
// the tests run): each stage gets a scratch directory standing for its file system, and its steps
// are carried out on the host: COPY copies, RUN runs in sh (as root until a USER line, as Docker
// does), then ENTRYPOINT + CMD run as an unprivileged user (`nobody` stands for the image's `node`
// user; absolute paths are taken inside the stage's directory). The gateway must answer
// /-/healthy, write its persistence file to the volume as that user and stop cleanly on SIGTERM.
// The build stage's `npm ci` and `npm run build` are the commands `npm test` has just run on this
// very tree, so its node_modules and dist are reused for them (a compile here would take minutes
// on a busy machine); PGW_DOCKERFILE_FULL=1 runs them as written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { send } from '../support/http.js';
import { freePort, OURS_MAIN, waitReady } from '../support/servers.js';

const ROOT = path.resolve(path.dirname(OURS_MAIN), '../..');
const full = process.env.PGW_DOCKERFILE_FULL === '1';

/**
 * One RUN step in sh, in its own process group: on time-out the whole group is killed (sh does not
 * pass a signal on to the commands it runs), so no compiler or npm outlives the test.
 */
function runStep(
  command: string,
  cwd: string,
  as: { uid?: number; gid?: number },
  timeoutMs: number,
): Promise<{ status: number | null; output: string }> {
  const child = spawn('sh', ['-c', command], { cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'], ...as });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), timeoutMs);
  return new Promise((resolve) => {
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, output });
    });
  });
}

interface Step {
  op: string;
  args: string;
}

interface Stage {
  name: string;
  steps: Step[];
}

/** The Dockerfile's stages and their steps (continuation lines joined, comments dropped). */
function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  for (const line of lines) {
    if (/^\s*(#|$)/.test(line)) continue;
    const m = /^\s*([A-Z]+)\s+(.*)$/.exec(line);
    assert.ok(m, `not an instruction: ${line}`);
    const [, op, args] = m;
    if (op === 'FROM') {
      const as = /\sAS\s+(\S+)$/i.exec(args);
      stages.push({ name: as?.[1] ?? `stage${stages.length}`, steps: [] });
    } else {
      assert.ok(stages.length > 0, `${op} before FROM`);
      stages.at(-1)!.steps.push({ op, args: args.trim() });
    }
  }
  return stages;
}

test(
  'the Dockerfile builds and runs on the host as a non-root user',
  { timeout: full ? 600_000 : 90_000 },
  async (t) => {
    const root = process.getuid!() === 0;
    if (!root) t.diagnostic('not running as root: everything runs as the current user (no switch to nobody)');
    // The image's `node` user, played by `nobody` on the host.
    const user = root ? { uid: 65534, gid: 65534 } : { uid: process.getuid!(), gid: process.getgid!() };
    const scratch = mkdtempSync(path.join(tmpdir(), 'pgw-docker-'));
    t.after(() => rmSync(scratch, { recursive: true, force: true }));
    chmodSync(scratch, 0o755);

    const stages = parseDockerfile(readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8'));
    const dirs = new Map<string, string>();
    let run: { argv: string[]; cwd: string; volume: string; stageDir: string } | undefined;
    const exposed: string[] = [];
    for (const stage of stages) {
      const stageDir = path.join(scratch, stage.name);
      dirs.set(stage.name, stageDir);
      mkdirSync(stageDir);
      let workdir = '/';
      let asUser = false;
      let volume = '';
      let entrypoint: string[] = [];
      let cmd: string[] = [];
      // Inside this stage's file system: absolute paths under stageDir, relative ones under WORKDIR.
      const inStage = (p: string) => path.join(stageDir, p.startsWith('/') ? p : path.join(workdir, p));
      for (const { op, args } of stage.steps) {
        if (op === 'WORKDIR') {
          workdir = args;
          mkdirSync(inStage('.'), { recursive: true });
        } else if (op === 'COPY') {
          const words = args.split(/\s+/);
          const from = words.find((w) => w.startsWith('--from='))?.slice(7);
          const chown = words.some((w) => w.startsWith('--chown='));
          const paths = words.filter((w) => !w.startsWith('--'));
          const dest = paths.pop()!;
          for (const src of paths) {
            const source = from === undefined ? path.join(ROOT, src) : path.join(dirs.get(from)!, src);
            assert.ok(existsSync(source), `COPY ${src}: not there`);
            // A directory's contents go into dest; a file goes into dest when dest names a directory.
            const target =
              statSync(source).isDirectory() || !dest.endsWith('/')
                ? inStage(dest)
                : path.join(inStage(dest), path.basename(src));
            cpSync(source, target, { recursive: true, dereference: true });
            if (chown) spawnSync('chown', ['-R', `${user.uid}:${user.gid}`, target]);
          }
        } else if (op === 'RUN') {
          const cwd = inStage('.');
          if (!full && stage.name === 'build' && /^npm ci\b/.test(args)) {
            symlinkSync(path.join(ROOT, 'node_modules'), path.join(cwd, 'node_modules'));
            continue;
          }
          if (!full && stage.name === 'build' && args === 'npm run build') {
            cpSync(path.join(ROOT, 'dist/src'), path.join(cwd, 'dist/src'), { recursive: true });
            continue;
          }
          const command = args
            .replace(/(^|[\s=])(\/[^\s;&|]*)/g, (_, pre: string, p: string) => pre + path.join(stageDir, p))
            .replace(/\bnode:node\b/g, `${user.uid}:${user.gid}`);
          const r = await runStep(command, cwd, asUser && root ? user : {}, full ? 300_000 : 60_000);
          assert.equal(r.status, 0, `RUN ${args}: ${r.output}`);
        } else if (op === 'USER') {
          assert.equal(args, 'node', 'the user the test plays with nobody');
          asUser = true;
        } else if (op === 'VOLUME') {
          volume = args;
        } else if (op === 'EXPOSE') {
          exposed.push(args);
        } else if (op === 'ENTRYPOINT' || op === 'CMD') {
          // Exec form only: with a shell in between, `docker stop`'s SIGTERM would not reach node.
          const argv = JSON.parse(args) as string[];
          if (op === 'ENTRYPOINT') entrypoint = argv;
          else cmd = argv;
        } else {
          assert.fail(`${op}: not an instruction this test can carry out`);
        }
      }
      if (entrypoint.length > 0 || cmd.length > 0) {
        assert.ok(asUser, `stage ${stage.name} runs as root`);
        run = { argv: [...entrypoint, ...cmd], cwd: inStage('.'), volume: inStage(volume), stageDir };
      }
    }

    assert.ok(run, 'no ENTRYPOINT or CMD');
    assert.deepEqual(exposed, ['9091']);
    assert.equal(path.relative(run.stageDir, run.volume), 'data');
    // No compiler or test tools in the image that runs.
    for (const dev of ['typescript', 'eslint']) assert.ok(!existsSync(path.join(run.cwd, 'node_modules', dev)), dev);
    assert.equal(run.argv[0], 'node');

    const port = await freePort();
    const args = run.argv
      .slice(1)
      .map((a) => a.replace(/(^|=)(\/.*)$/, (_, pre: string, p: string) => pre + path.join(run.stageDir, p)));
    const gw = spawn(process.execPath, [...args, `--web.listen-address=127.0.0.1:${port}`], {
      cwd: run.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(root ? user : {}),
    });
    let out = '';
    gw.stdout.on('data', (d: Buffer) => (out += d.toString()));
    gw.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => gw.once('exit', (code) => r(code)));
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitReady(
        url,
        gw,
        () => out,
        20_000,
        async (u) => (await send(u, 'GET', '/-/healthy')).status === 200,
      );
      assert.equal((await send(url, 'PUT', '/metrics/job/docker', 'docker_test 1\n')).status, 200);
    } finally {
      gw.kill('SIGTERM');
    }
    assert.equal(await exited, 0, out);
    assert.match(out, /exiting gracefully/);
    const stored = statSync(path.join(run.volume, 'metrics.store'));
    assert.equal(stored.uid, user.uid, 'the persistence file is written by the unprivileged user');
  },
);
