// Propagation lag between replicas measured from outside, end to end: every `intervalMs` a new
// group is pushed to one replica (in turn), and once that push is answered every other replica is
// asked for the group (GET /api/v1/groups?match[]=…, which needs --web.enable-admin-api: a read of
// the replica's view, no Redis involved) every `pollMs` until it shows. A sample is the time
// from the push's 200 to the answer that shows the group; a group not shown within `timeoutMs`
// counts as Infinity (pollMs 0: back to back). The reads are paced: asked back to back, they were most of what the
// replicas served (each read filters every group), and took the CPU the lag is measured on.
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { RunningServer } from '../test/support/servers.js';

export interface LagProbe {
  /** Stops probing; the samples (ms) once the probes under way have ended. */
  stop: () => Promise<number[]>;
  /** Reads sent so far (GETs to the replicas that did not push). */
  readonly reads: number;
}

function ask(agent: Agent, port: number, method: string, path: string, body?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const headers = body === undefined ? {} : { 'Content-Length': Buffer.byteLength(body) };
    const req = request({ host: '127.0.0.1', port, method, path, agent, headers, timeout: 10_000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve(`${res.statusCode} ${text}`));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

export function startLagProbe(gws: RunningServer[], intervalMs = 25, timeoutMs = 2000, pollMs = 5): LagProbe {
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  const samples: number[] = [];
  const running = new Set<Promise<void>>();
  let n = 0;
  let reads = 0;
  const probe = async (i: number) => {
    const from = gws[i % gws.length];
    const instance = `p${i}`;
    const pushed = await ask(agent, from.port, 'PUT', `/metrics/job/lagprobe/instance/${instance}`, 'probe_value 1\n');
    if (!pushed.startsWith('200')) throw new Error(`probe push answered ${pushed}`);
    const acked = performance.now();
    const query = `/api/v1/groups?match[]=${encodeURIComponent(`{job="lagprobe",instance="${instance}"}`)}`;
    await Promise.all(
      gws
        .filter((gw) => gw !== from)
        .map(async (gw) => {
          for (let first = true; ; first = false) {
            if (!first && pollMs > 0) await new Promise((r) => setTimeout(r, pollMs));
            reads++;
            const answer = await ask(agent, gw.port, 'GET', query);
            const now = performance.now();
            if (answer.includes('"matched":1')) return void samples.push(now - acked);
            if (!answer.startsWith('200')) throw new Error(`probe read answered ${answer.slice(0, 200)}`);
            if (now - acked > timeoutMs) return void samples.push(Infinity);
          }
        }),
    );
  };
  let failure: unknown;
  const timer = setInterval(() => {
    const p = probe(n++)
      .catch((e: unknown) => void (failure ??= e))
      .finally(() => running.delete(p));
    running.add(p);
  }, intervalMs);
  return {
    stop: async () => {
      clearInterval(timer);
      await Promise.all(running);
      agent.destroy();
      if (failure !== undefined) throw failure;
      return samples;
    },
    get reads() {
      return reads;
    },
  };
}

/** Nearest-rank quantile of `values` (NaN when empty). */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}
