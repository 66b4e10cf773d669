// contrib/kubernetes/pushgateway-redis-sentinel.yaml, checked as far as it can be without a
// cluster: every document parsed; names, labels, ports, Secrets and ConfigMaps referenced where
// they are defined; the gateway's args accepted by its own flag parser; and the init script run
// for each Redis pod, its redis.conf and sentinel.conf started by the real redis-server on loopback
// (only ports, bind, dir and the pods' DNS names adapted), forming a master, two replicas and
// three Sentinels that agree, with a gateway given the Deployment's args pushing through them.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { parseArgs } from '../../src/config.js';
import { send } from '../support/http.js';
import { OURS_MAIN, freePort, startServer, type RunningServer } from '../support/servers.js';
import { REDIS_BIN, askRedis, runRedis, type RunningRedis } from '../support/redis.js';
import { within } from './cluster.js';

const MANIFEST = path.resolve(path.dirname(OURS_MAIN), '../../contrib/kubernetes/pushgateway-redis-sentinel.yaml');

// The few fields read here, as Kubernetes names them.
interface Port {
  name?: string;
  containerPort?: number;
  port?: number;
  targetPort?: number | string;
}
interface Probe {
  httpGet?: { path: string; port: number | string };
  tcpSocket?: { port: number | string };
}
interface Container {
  name: string;
  command?: string[];
  args?: string[];
  env?: Array<{ name: string; value: string }>;
  ports?: Port[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  volumeMounts?: Array<{ name: string; mountPath: string }>;
}
interface Volume {
  name: string;
  secret?: { secretName: string };
  configMap?: { name: string };
}
interface PodTemplate {
  metadata: { labels: Record<string, string> };
  spec: { initContainers?: Container[]; containers: Container[]; volumes?: Volume[] };
}
interface Resource {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec?: {
    replicas?: number;
    serviceName?: string;
    clusterIP?: string;
    selector?: { matchLabels?: Record<string, string> } & Record<string, unknown>;
    template?: PodTemplate;
    volumeClaimTemplates?: Array<{ metadata: { name: string } }>;
    ports?: Port[];
  };
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

async function manifest(): Promise<Resource[]> {
  const docs = parseAllDocuments(await readFile(MANIFEST, 'utf8'));
  return (Array.isArray(docs) ? docs : [docs]).map((d) => {
    assert.deepEqual(d.errors, [], 'YAML errors');
    return d.toJS() as Resource;
  });
}

function one(all: Resource[], kind: string, name: string): Resource {
  const found = all.filter((r) => r.kind === kind && r.metadata.name === name);
  assert.equal(found.length, 1, `one ${kind} ${name}`);
  return found[0];
}

/** Every label of `selector` is on `labels`. */
function selects(selector: Record<string, unknown> | undefined, labels: Record<string, string>): boolean {
  return selector !== undefined && Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** The container port a probe or a Service's targetPort names (by name or number). */
function portOf(containers: Container[], p: number | string | undefined): number | undefined {
  const ports = containers.flatMap((c) => c.ports ?? []);
  return ports.find((c) => c.name === p || c.containerPort === p)?.containerPort;
}

const started: Array<RunningServer | RunningRedis> = [];
const dirs: string[] = [];
after(async () => {
  // Each one stopped even if another's cleanup fails (a Redis fork may still be writing its files).
  for (const s of started.reverse()) await ('cleanup' in s ? s.cleanup() : s.stop()).catch(() => undefined);
  for (const d of dirs) await rm(d, { recursive: true, force: true, maxRetries: 10 });
});

test('the manifest holds together: kinds, selectors, ports, probes, Secrets and ConfigMaps', async () => {
  const all = await manifest();
  for (const r of all) {
    assert.ok(r.apiVersion && r.kind && r.metadata.name, `apiVersion, kind and name: ${JSON.stringify(r)}`);
  }
  const names = (kind: string) => new Set(all.filter((r) => r.kind === kind).map((r) => r.metadata.name));
  const workloads = all.filter((r) => r.kind === 'Deployment' || r.kind === 'StatefulSet');
  assert.deepEqual(workloads.map((w) => `${w.kind}/${w.metadata.name}`).sort(), [
    'Deployment/pushgateway',
    'StatefulSet/redis',
  ]);
  for (const w of workloads) {
    const pod = w.spec!.template!;
    const what = `${w.kind} ${w.metadata.name}`;
    assert.ok(selects(w.spec!.selector!.matchLabels, pod.metadata.labels), `${what}: selector matches its pods`);
    const volumes = new Set([
      ...(pod.spec.volumes ?? []).map((v) => v.name),
      ...(w.spec!.volumeClaimTemplates ?? []).map((v) => v.metadata.name),
    ]);
    const containers = [...(pod.spec.initContainers ?? []), ...pod.spec.containers];
    for (const c of containers) {
      for (const m of c.volumeMounts ?? []) assert.ok(volumes.has(m.name), `${what}/${c.name}: volume ${m.name}`);
      for (const probe of [c.readinessProbe, c.livenessProbe]) {
        if (probe === undefined) continue;
        const port = (probe.httpGet ?? probe.tcpSocket)!.port;
        assert.ok(
          (c.ports ?? []).some((p) => p.name === port || p.containerPort === port),
          `${what}/${c.name}: probe port`,
        );
      }
    }
    for (const v of pod.spec.volumes ?? []) {
      if (v.secret) assert.ok(names('Secret').has(v.secret.secretName), `${what}: Secret ${v.secret.secretName}`);
      if (v.configMap) assert.ok(names('ConfigMap').has(v.configMap.name), `${what}: ConfigMap ${v.configMap.name}`);
    }
    // Each Service selecting these pods sends to ports they have.
    const services = all.filter((r) => r.kind === 'Service' && selects(r.spec!.selector, pod.metadata.labels));
    assert.ok(services.length > 0, `${what}: a Service selects its pods`);
    for (const s of services) {
      for (const p of s.spec!.ports!) {
        assert.ok(
          portOf(containers, p.targetPort ?? p.port) !== undefined,
          `Service ${s.metadata.name}: port ${p.port}`,
        );
      }
    }
  }
  for (const pdb of all.filter((r) => r.kind === 'PodDisruptionBudget')) {
    const labels = workloads.map((w) => w.spec!.template!.metadata.labels);
    assert.ok(
      labels.some((l) => selects(pdb.spec!.selector!.matchLabels, l)),
      `PDB ${pdb.metadata.name}`,
    );
  }

  // The gateway: probes on the endpoints the gateway answers, the Service on its port.
  const gw = one(all, 'Deployment', 'pushgateway').spec!.template!.spec.containers[0];
  assert.equal(gw.readinessProbe?.httpGet?.path, '/-/ready');
  assert.equal(gw.livenessProbe?.httpGet?.path, '/-/healthy');
  const listen = /^--web\.listen-address=:(\d+)$/.exec(gw.args!.find((a) => a.startsWith('--web.listen'))!);
  assert.equal(portOf([gw], gw.readinessProbe!.httpGet!.port), Number(listen?.[1]));
  assert.equal(one(all, 'Service', 'pushgateway').spec!.ports![0].port, 9091);

  // Redis: a headless Service naming the StatefulSet's pods, which the gateway asks for Sentinels.
  const redis = one(all, 'StatefulSet', 'redis');
  const headless = one(all, 'Service', redis.spec!.serviceName!);
  assert.equal(headless.spec!.clusterIP, 'None');
  const sentinelPort = headless.spec!.ports!.find((p) => p.name === 'sentinel')!.port;
  const pods = Array.from({ length: redis.spec!.replicas! }, (_, i) => `redis-${i}.${headless.metadata.name}`);
  assert.ok(
    gw.args!.includes(`--storage.redis.sentinels=${pods.map((p) => `${p}:${sentinelPort}`).join(',')}`),
    'the gateway asks every Sentinel of the StatefulSet',
  );
  // The gateway's flag parser takes the args as they are.
  const parsed = parseArgs(gw.args!);
  assert.equal(parsed.kind, 'run');
  const config = (parsed as Extract<typeof parsed, { kind: 'run' }>).config;
  assert.equal(config.redis?.sentinels.length, 3);
  const init = redis.spec!.template!.spec.initContainers![0];
  const env = Object.fromEntries(init.env!.map((e) => [e.name, e.value]));
  assert.equal(config.redis?.masterName, env.MASTER_SET, 'the master set the Sentinels monitor');
  assert.equal(env.REPLICAS, String(redis.spec!.replicas));
  assert.equal(env.STATEFULSET, redis.metadata.name);
  assert.equal(env.SERVICE, headless.metadata.name);
});

test("the init script's redis.conf and sentinel.conf run: a master, 2 replicas, 3 Sentinels, and the gateway on them", async () => {
  const all = await manifest();
  const config = one(all, 'ConfigMap', 'redis-config').data!;
  const password = one(all, 'Secret', 'redis-password').stringData!.password;
  const redis = one(all, 'StatefulSet', 'redis');
  const init = redis.spec!.template!.spec.initContainers![0];
  const env = Object.fromEntries(init.env!.map((e) => [e.name, e.value]));
  const dir = await mkdtemp(path.join(tmpdir(), 'pgw-k8s-test-'));
  dirs.push(dir);
  // The ConfigMap and the Secret as the pods mount them, elsewhere.
  await mkdir(path.join(dir, 'templates'));
  for (const [file, text] of Object.entries(config)) await writeFile(path.join(dir, 'templates', file), text);
  await writeFile(path.join(dir, 'password'), password);

  const count = redis.spec!.replicas!;
  const ports = await Promise.all(Array.from({ length: count }, () => freePort()));
  const sentinelPorts = await Promise.all(Array.from({ length: count }, () => freePort()));
  // Redis and its Sentinel share the pod's volume; here each has its own directory, removed apart.
  const home = (i: number, sentinel: boolean) => path.join(dir, `pod-${i}`, sentinel ? 'sentinel' : 'redis');
  const host = (i: number) => `redis-${i}.${env.SERVICE}`;
  /** The pods' DNS names as 127.0.0.1 with their own ports; bind and dir on this machine. */
  const adapt = (text: string, i: number, sentinel: boolean) => {
    const adapted = text
      .replace(/^port \d+$/m, `port ${sentinel ? sentinelPorts[i] : ports[i]}`)
      .replace(/^dir .*$/m, `dir ${home(i, sentinel)}`)
      .replace(/\bredis-(\d+)\.redis 6379\b/g, (_, n: string) => `127.0.0.1 ${ports[Number(n)]}`)
      .replace(/\bredis-\d+\.redis\b/g, '127.0.0.1');
    // The pods listen on every address (a Sentinel does without a bind line); here only on loopback.
    return /^bind /m.test(adapted) ? adapted.replace(/^bind .*$/m, 'bind 127.0.0.1') : `${adapted}bind 127.0.0.1\n`;
  };
  const confs = [];
  for (let i = 0; i < count; i++) {
    const conf = path.join(dir, `pod-${i}`, 'conf');
    const r = spawnSync('sh', ['-c', config['init.sh']], {
      env: {
        ...process.env,
        ...env,
        HOSTNAME: `redis-${i}`,
        CONFIG_DIR: conf,
        TEMPLATE_DIR: path.join(dir, 'templates'),
        PASSWORD_FILE: path.join(dir, 'password'),
        PATH: `${path.dirname(REDIS_BIN)}:${process.env.PATH}`,
      },
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(r.status, 0, `init.sh for redis-${i}: ${r.stderr}`);
    const redisConf = await readFile(path.join(conf, 'redis.conf'), 'utf8');
    const sentinelConf = await readFile(path.join(conf, 'sentinel.conf'), 'utf8');
    // No other pod's Sentinel answers here, so pod 0 is the master, as at the first start of all.
    if (i === 0) assert.doesNotMatch(redisConf, /^replicaof /m);
    else assert.match(redisConf, new RegExp(`^replicaof ${host(0).replace('.', '\\.')} 6379$`, 'm'));
    assert.match(
      sentinelConf,
      new RegExp(`^sentinel monitor ${env.MASTER_SET} ${host(0).replace('.', '\\.')} 6379 2$`, 'm'),
    );
    await writeFile(path.join(conf, 'redis.conf'), adapt(redisConf, i, false));
    await writeFile(path.join(conf, 'sentinel.conf'), adapt(sentinelConf, i, true));
    confs.push(conf);
  }
  for (let i = 0; i < count; i++) {
    await mkdir(home(i, false));
    started.push(await runRedis([path.join(confs[i], 'redis.conf')], ports[i], home(i, false), password));
  }
  for (let i = 0; i < count; i++) {
    const conf = path.join(confs[i], 'sentinel.conf');
    await mkdir(home(i, true));
    started.push(await runRedis([conf, '--sentinel'], sentinelPorts[i], home(i, true), password));
  }
  const ask = (port: number, command: string[]) => askRedis(port, command, { password });

  await within(
    30_000,
    async () => {
      const info = String(await ask(ports[0], ['INFO', 'replication']).catch(() => ''));
      if ((info.match(/state=online/g) ?? []).length !== count - 1) return false;
      for (const port of sentinelPorts) {
        const fields = (await ask(port, ['SENTINEL', 'MASTER', env.MASTER_SET]).catch(() => [])) as string[];
        const f = (k: string) => fields[fields.indexOf(k) + 1];
        if (f('port') !== String(ports[0]) || f('num-slaves') !== String(count - 1)) return false;
        if (f('num-other-sentinels') !== String(count - 1) || f('flags') !== 'master') return false;
      }
      return true;
    },
    'replicas in sync; every Sentinel names the master and knows the replicas and the other Sentinels',
  );

  // The gateway with the Deployment's args: the Sentinels' addresses and the Secret's path adapted.
  const gwArgs = one(all, 'Deployment', 'pushgateway').spec!.template!.spec.containers[0].args!.map((a) =>
    a.startsWith('--storage.redis.sentinels=')
      ? `--storage.redis.sentinels=${sentinelPorts.map((p) => `127.0.0.1:${p}`).join(',')}`
      : a
          .replace(/^--web\.listen-address=.*/, '')
          .replace(/=\/etc\/pushgateway\/redis\/password$/, `=${path.join(dir, 'password')}`),
  );
  const gw = await startServer(
    'ours',
    gwArgs.filter((a) => a !== ''),
  );
  started.push(gw);
  // min-replicas-acked=1: acknowledged only once a replica holds it.
  const r = await send(gw.url, 'PUT', '/metrics/job/k8s', 'x 1\n');
  assert.equal(r.status, 200, r.body.toString());
  const body = (await send(gw.url, 'GET', '/metrics')).body.toString();
  assert.match(body, /^x\{instance="",job="k8s"\} 1$/m);
  assert.match(body, /^pushgateway_redis_up 1$/m);
  assert.equal((await send(gw.url, 'GET', '/-/ready')).status, 200);
  assert.equal(Number(await ask(ports[1], ['EXISTS', 'pushgateway:version'])), 1, 'the push is on a replica');
});
