// --web.config.file over real TLS: a CA, a server certificate and client certificates made with
// openssl in a temp dir; our gateway started with web config files; curl and the Python client
// library (prometheus_client's push_to_gateway) against the TLS + auth endpoint; start-up errors
// and the auth answers compared with the reference's.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { connect as tlsConnect, type PeerCertificate } from 'node:tls';
import { tmpdir } from 'node:os';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import {
  freePort,
  OURS_MAIN,
  REFERENCE_BIN,
  referenceAvailable,
  startServer,
  type ReadyProbe,
  type RunningServer,
} from '../support/servers.js';

const CURL = '/usr/bin/curl';
const PYTHON = '/usr/bin/python3';

let dir: string;
const running: RunningServer[] = [];
const HASH = bcrypt.hashSync('secret', 4);
const HASH_BOB = bcrypt.hashSync('hunter2', 4);
/** Cost 12: a few hundred milliseconds per bcrypt in JavaScript, so a cache miss shows. */
const HASH_SLOW = bcrypt.hashSync('slow-but-sure', 12);

type Client = 'client' | 'rogue' | 'sanclient';

const OPENSSL_CNF = `[req]
distinguished_name = dn
prompt = no
[dn]
CN = pushgateway-test-ca
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
[client_san]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = DNS:batch.example,URI:spiffe://example/batch
`;

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

/** A certificate for `name` (server or client profile) signed by the test CA. */
function issue(name: string, cn: string, profile: 'server' | 'client' | 'client_san'): void {
  openssl('req', '-new', ...EC, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
  openssl(
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    `${name}.pem`,
    '-days',
    '2',
    '-extfile',
    'openssl.cnf',
    '-extensions',
    profile,
  );
}

before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'pushgateway-tls-'));
  writeFileSync(path.join(dir, 'openssl.cnf'), OPENSSL_CNF);
  openssl(
    'req',
    '-x509',
    '-new',
    ...EC,
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-config',
    'openssl.cnf',
    '-extensions',
    'v3_ca',
  );
  issue('server', 'localhost', 'server');
  issue('client', 'good-client', 'client');
  issue('sanclient', 'batch-client', 'client_san');
  // A client certificate no trusted CA signed.
  openssl(
    'req',
    '-x509',
    '-new',
    ...EC,
    '-keyout',
    'rogue.key',
    '-out',
    'rogue.pem',
    '-days',
    '2',
    '-subj',
    '/CN=rogue',
    '-config',
    'openssl.cnf',
    '-extensions',
    'client',
  );
});

after(async () => {
  await Promise.all(running.map((s) => s.stop()));
  rmSync(dir, { recursive: true, force: true });
});

const file = (name: string) => path.join(dir, name);
const read = (name: string) => readFileSync(file(name));

function writeConfig(name: string, yaml: string): string {
  writeFileSync(file(name), yaml);
  return file(name);
}

const TLS = 'tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n';

/** Ready when the server answers anything over TLS (401 included), with the given client certificate. */
function tlsProbe(client?: Client): ReadyProbe {
  return (url) =>
    new Promise((resolve, reject) => {
      const req = httpsRequest(
        `${url}/-/ready`,
        {
          ca: read('ca.pem'),
          ...(client ? { cert: read(`${client}.pem`), key: read(`${client}.key`) } : {}),
          timeout: 1000,
        },
        (res) => {
          res.resume();
          resolve(true);
        },
      );
      req.on('error', reject);
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.end();
    });
}

async function startOurs(configName: string, yaml: string, client?: Client): Promise<RunningServer> {
  const config = writeConfig(configName, yaml);
  const s = await startServer('ours', [`--web.config.file=${config}`], { scheme: 'https', probe: tlsProbe(client) });
  running.push(s);
  return s;
}

async function stop(s: RunningServer): Promise<void> {
  await s.stop();
  running.splice(running.indexOf(s), 1);
}

interface Answer {
  /** curl's exit code (0: an HTTP answer came). */
  exit: number;
  status: number;
  headers: Map<string, string[]>;
  body: string;
  stderr: string;
}

/** curl -i with the test CA; parses the (last) header block. */
function curl(url: string, ...args: string[]): Promise<Answer> {
  return new Promise((resolve) => {
    execFile(
      CURL,
      ['-sS', '-i', '--max-time', '10', '--cacert', file('ca.pem'), ...args, url],
      { encoding: 'utf8', cwd: dir },
      (err, stdout, stderr) => {
        const exit = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
        const headers = new Map<string, string[]>();
        let status = 0;
        let body = '';
        const split = stdout.indexOf('\r\n\r\n');
        if (stdout.startsWith('HTTP/') && split >= 0) {
          const lines = stdout.slice(0, split).split('\r\n');
          status = Number(lines[0].split(' ')[1]);
          for (const line of lines.slice(1)) {
            const i = line.indexOf(':');
            const k = line.slice(0, i).toLowerCase();
            headers.set(k, [...(headers.get(k) ?? []), line.slice(i + 1).trim()]);
          }
          body = stdout.slice(split + 4);
        }
        resolve({ exit, status, headers, body, stderr });
      },
    );
  });
}

const header = (a: Answer, name: string) => a.headers.get(name)?.join(', ');

describe('TLS + basic auth + bearer tokens, with curl', () => {
  let s: RunningServer;
  before(async () => {
    s = await startOurs(
      'auth.yml',
      `${TLS}basic_auth_users:\n  alice: ${HASH}\n  bob: '${HASH_BOB}'\n  carol: '${HASH_SLOW}'\nbearer_tokens:\n  - java-client-token\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\n    Strict-Transport-Security: max-age=31536000\n`,
    );
  });
  after(() => stop(s));

  test('no credentials, a wrong password, an unknown user, a wrong token: 401 with WWW-Authenticate', async () => {
    for (const args of [
      [],
      ['-u', 'alice:wrong'],
      ['-u', 'mallory:secret'],
      ['-u', 'bob:secret'],
      ['-H', 'Authorization: Bearer nope'],
    ]) {
      const a = await curl(`${s.url}/-/ready`, ...args);
      assert.equal(a.exit, 0, a.stderr);
      assert.equal(a.status, 401, args.join(' '));
      assert.equal(a.body, 'Unauthorized\n');
      assert.deepEqual(a.headers.get('www-authenticate'), ['Basic', 'Bearer']);
      assert.equal(header(a, 'x-frame-options'), 'deny');
      assert.equal(header(a, 'strict-transport-security'), 'max-age=31536000');
    }
  });

  test('the right password or token: 200, with the configured headers', async () => {
    for (const args of [
      ['-u', 'alice:secret'],
      ['-u', 'bob:hunter2'],
      ['-H', 'Authorization: Bearer java-client-token'],
    ]) {
      const a = await curl(`${s.url}/-/ready`, ...args);
      assert.equal(a.status, 200, args.join(' '));
      assert.equal(a.body, 'OK');
      assert.equal(header(a, 'x-frame-options'), 'deny');
    }
  });

  test('push, scrape and delete over TLS with auth; every endpoint is guarded', async () => {
    const push = await curl(
      `${s.url}/metrics/job/curl/instance/a`,
      '-u',
      'alice:secret',
      '--data-binary',
      'curl_metric 7\n',
    );
    assert.equal(push.status, 200, push.body);
    const scrape = await curl(`${s.url}/metrics`, '-u', 'alice:secret');
    assert.match(scrape.body, /^curl_metric\{instance="a",job="curl"\} 7$/m);
    for (const [method, p] of [
      ['GET', '/metrics'],
      ['PUT', '/metrics/job/curl'],
      ['DELETE', '/metrics/job/curl/instance/a'],
      ['GET', '/api/v1/metrics'],
      ['OPTIONS', '/api/v1/status'],
      ['GET', '/'],
      ['POST', '/-/quit'],
      ['GET', '/nothere'],
    ]) {
      assert.equal((await curl(`${s.url}${p}`, '-X', method)).status, 401, `${method} ${p}`);
    }
    const del = await curl(
      `${s.url}/metrics/job/curl/instance/a`,
      '-X',
      'DELETE',
      '-H',
      'Authorization: Bearer java-client-token',
    );
    assert.equal(del.status, 202);
    assert.doesNotMatch((await curl(`${s.url}/metrics`, '-u', 'bob:hunter2')).body, /curl_metric/);
  });

  test('a client that does not trust the CA fails; plain HTTP gets the answer Go gives', async () => {
    const untrusted = await new Promise<number>((resolve) =>
      execFile(CURL, ['-sS', `${s.url}/-/ready`], (err) => resolve(err === null ? 0 : Number(err.code))),
    );
    assert.equal(untrusted, 60); // curl: peer certificate cannot be authenticated
    const plain = await curl(`http://127.0.0.1:${s.port}/-/ready`);
    assert.equal(plain.status, 400);
    assert.equal(plain.body, 'Client sent an HTTP request to an HTTPS server.\n');
  });

  test('a verified password is cached: repeated pushes do not pay the bcrypt again', async () => {
    const time = async (i: number) => {
      const started = process.hrtime.bigint();
      const a = await curl(
        `${s.url}/metrics/job/loop`,
        '-u',
        'carol:slow-but-sure',
        '--data-binary',
        `loop_metric ${i}\n`,
      );
      assert.equal(a.status, 200);
      return Number(process.hrtime.bigint() - started) / 1e6;
    };
    const first = await time(0);
    const rest: number[] = [];
    for (let i = 1; i <= 10; i++) rest.push(await time(i));
    rest.sort((a, b) => a - b);
    const median = rest[5];
    // The first push runs bcrypt at cost 12 (hundreds of ms); the others are answered from the cache.
    assert.ok(median < first / 2, `first ${first.toFixed(0)} ms, median of the next ${median.toFixed(0)} ms`);
  });
});

const pythonClient = (() => {
  try {
    execFileSync(PYTHON, ['-c', 'import prometheus_client'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
})();

const PUSH_PY = `
import sys
from prometheus_client import CollectorRegistry, Gauge, push_to_gateway
from prometheus_client.exposition import basic_auth_handler, default_handler
url, user, secret = sys.argv[1], sys.argv[2], sys.argv[3]
registry = CollectorRegistry()
Gauge('python_job_last_success', 'Last time the job succeeded.', registry=registry).set(1234)
def handler(url, method, timeout, headers, data):
    if user == '--bearer':  # as the Java client sends a token
        return default_handler(url, method, timeout, headers + [('Authorization', 'Bearer ' + secret)], data)
    return basic_auth_handler(url, method, timeout, headers, data, user, secret)
try:
    push_to_gateway(url, job='python', registry=registry, grouping_key={'instance': 'py'}, handler=handler)
except Exception as e:
    print(type(e).__name__, e)
    sys.exit(3)
print('pushed')
`;

describe(
  'the Python client library (prometheus_client.push_to_gateway) over TLS with auth',
  { skip: pythonClient ? false : `${PYTHON} has no prometheus_client (apt-get install -y python3-prometheus-client)` },
  () => {
    let s: RunningServer;
    before(async () => {
      writeFileSync(file('push.py'), PUSH_PY);
      s = await startOurs('python.yml', `${TLS}basic_auth_users:\n  alice: ${HASH}\nbearer_tokens: [py-token]\n`);
    });
    after(() => stop(s));

    const push = (user: string, secret: string, trustCa = true) =>
      new Promise<{ code: number; out: string }>((resolve) => {
        const env = { ...process.env };
        delete env.SSL_CERT_FILE;
        if (trustCa) env.SSL_CERT_FILE = file('ca.pem'); // Python's default context then trusts the test CA
        execFile(PYTHON, [file('push.py'), s.url, user, secret], { env, encoding: 'utf8' }, (err, stdout, stderr) =>
          resolve({ code: err === null ? 0 : Number(err.code), out: stdout + stderr }),
        );
      });

    test('basic_auth_handler with the right password pushes; the metric is scraped', async () => {
      const r = await push('alice', 'secret');
      assert.equal(r.code, 0, r.out);
      const scrape = await curl(`${s.url}/metrics`, '-u', 'alice:secret');
      assert.match(scrape.body, /^python_job_last_success\{instance="py",job="python"\} 1234$/m);
    });

    test('a wrong password: HTTPError 401', async () => {
      const r = await push('alice', 'wrong');
      assert.equal(r.code, 3);
      assert.match(r.out, /HTTPError HTTP Error 401: Unauthorized/);
    });

    test('a bearer token (our extension) pushes', async () => {
      assert.equal((await push('--bearer', 'py-token')).code, 0);
      assert.match((await push('--bearer', 'not-it')).out, /HTTP Error 401/);
    });

    test('without the CA the client refuses the server', async () => {
      const r = await push('alice', 'secret', false);
      assert.equal(r.code, 3);
      assert.match(r.out, /CERTIFICATE_VERIFY_FAILED/);
    });
  },
);

describe('client certificates', () => {
  const withCert = (client?: Client) =>
    client ? ['--cert', file(`${client}.pem`), '--key', file(`${client}.key`)] : [];
  const cases: Array<{ type: string; ca: boolean; expect: Record<'none' | 'client' | 'rogue', boolean> }> = [
    { type: 'RequireAndVerifyClientCert', ca: true, expect: { none: false, client: true, rogue: false } },
    { type: 'VerifyClientCertIfGiven', ca: true, expect: { none: true, client: true, rogue: false } },
    { type: 'RequireAnyClientCert', ca: false, expect: { none: false, client: true, rogue: true } },
    { type: 'RequestClientCert', ca: false, expect: { none: true, client: true, rogue: true } },
    { type: 'NoClientCert', ca: false, expect: { none: true, client: true, rogue: true } },
  ];
  for (const c of cases) {
    test(`${c.type}: no certificate ${c.expect.none ? 'ok' : 'refused'}, CA-signed ok, self-signed ${c.expect.rogue ? 'ok' : 'refused'}`, async () => {
      const s = await startOurs(
        `cc-${c.type}.yml`,
        `${TLS}  client_auth_type: ${c.type}\n${c.ca ? '  client_ca_file: ca.pem\n' : ''}`,
        'client',
      );
      try {
        for (const who of ['none', 'client', 'rogue'] as const) {
          const a = await curl(`${s.url}/-/ready`, ...withCert(who === 'none' ? undefined : who));
          if (c.expect[who]) assert.equal(a.status, 200, `${who}: ${a.stderr}`);
          else {
            assert.notEqual(a.exit, 0, `${who} should be refused`);
            assert.equal(a.status, 0);
          }
        }
      } finally {
        await stop(s);
      }
    });
  }
});
test('client_allowed_sans: a verified client certificate must carry one of the SANs', async () => {
  const withCert = (client: Client) => ['--cert', file(`${client}.pem`), '--key', file(`${client}.key`)];
  const s = await startOurs(
    'cc-sans.yml',
    `${TLS}  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.pem\n` +
      '  client_allowed_sans: ["other.example", "spiffe://example/batch"]\n',
    'sanclient',
  );
  try {
    const ok = await curl(`${s.url}/-/ready`, ...withCert('sanclient'));
    assert.equal(ok.status, 200, ok.stderr);
    // Signed by the trusted CA, but without an allowed SAN.
    const refused = await curl(`${s.url}/-/ready`, ...withCert('client'));
    assert.notEqual(refused.exit, 0, 'a certificate without an allowed SAN was accepted');
    assert.equal(refused.status, 0);
  } finally {
    await stop(s);
  }
});

describe('TLS versions and cipher suites', () => {
  const ok = async (url: string, ...args: string[]) => (await curl(`${url}/-/ready`, ...args)).status === 200;

  test('min_version TLS13 refuses a TLS 1.2 client', async () => {
    const s = await startOurs('v13.yml', `${TLS}  min_version: TLS13\n`);
    try {
      assert.equal(await ok(s.url, '--tls-max', '1.2'), false);
      assert.equal(await ok(s.url, '--tlsv1.3'), true);
    } finally {
      await stop(s);
    }
  });

  test('max_version TLS12 refuses a TLS 1.3-only client; the default refuses TLS 1.1', async () => {
    const s = await startOurs('v12.yml', `${TLS}  max_version: TLS12\n`);
    try {
      assert.equal(await ok(s.url, '--tlsv1.3'), false);
      assert.equal(await ok(s.url, '--tls-max', '1.2'), true);
      assert.equal(await ok(s.url, '--tlsv1.1', '--tls-max', '1.1', '--ciphers', 'DEFAULT:@SECLEVEL=0'), false);
    } finally {
      await stop(s);
    }
  });

  test('min_version TLS10 lets a TLS 1.0 client in', async () => {
    const s = await startOurs('v10.yml', `${TLS}  min_version: TLS10\n`);
    try {
      assert.equal(await ok(s.url, '--tlsv1.0', '--tls-max', '1.0', '--ciphers', 'DEFAULT:@SECLEVEL=0'), true);
    } finally {
      await stop(s);
    }
  });

  test('cipher_suites (Go names) restrict TLS 1.2 to the listed suites', async () => {
    const s = await startOurs(
      'ciphers.yml',
      `${TLS}  max_version: TLS12\n  cipher_suites:\n    - TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256\n    - TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256\n`,
    );
    try {
      assert.equal(await ok(s.url, '--ciphers', 'ECDHE-ECDSA-AES256-GCM-SHA384'), false);
      assert.equal(await ok(s.url, '--ciphers', 'ECDHE-ECDSA-AES128-GCM-SHA256'), true);
      assert.equal(await ok(s.url, '--ciphers', 'ECDHE-ECDSA-CHACHA20-POLY1305'), true);
    } finally {
      await stop(s);
    }
  });

  test('curve_preferences restrict the key exchange groups', async () => {
    const s = await startOurs('curves.yml', `${TLS}  curve_preferences: [CurveP384]\n`);
    try {
      assert.equal(await ok(s.url, '--curves', 'X25519'), false);
      assert.equal(await ok(s.url, '--curves', 'P-384'), true);
    } finally {
      await stop(s);
    }
  });
});

describe('changes to the file apply without a restart', () => {
  const waitFor = async (what: string, cond: () => Promise<boolean>, ms = 5000) => {
    const end = Date.now() + ms;
    while (!(await cond())) {
      if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  test('users added, file broken (500, as the reference), fixed; certificate rotated', async () => {
    const s = await startOurs('reload.yml', `${TLS}basic_auth_users:\n  alice: ${HASH}\n`);
    try {
      const status = async (...args: string[]) => (await curl(`${s.url}/-/ready`, ...args)).status;
      assert.equal(await status('-u', 'bob:hunter2'), 401);
      writeConfig('reload.yml', `${TLS}basic_auth_users:\n  alice: ${HASH}\n  bob: ${HASH_BOB}\n`);
      await waitFor('bob let in', async () => (await status('-u', 'bob:hunter2')) === 200);
      writeConfig('reload.yml', `${TLS}basic_auth_users:\n  alice: ${HASH}\nsurprise: 1\n`);
      await waitFor('500 while invalid', async () => (await status('-u', 'alice:secret')) === 500);
      const broken = await curl(`${s.url}/-/ready`, '-u', 'alice:secret');
      assert.equal(broken.body, 'Internal Server Error\n');
      writeConfig('reload.yml', `${TLS}basic_auth_users:\n  alice: ${HASH}\n`);
      await waitFor('valid again', async () => (await status('-u', 'alice:secret')) === 200);
      assert.equal(await status('-u', 'bob:hunter2'), 401);

      // Certificate rotation: a new server certificate (same CA) is served to new connections.
      const peer = () =>
        new Promise<PeerCertificate>((resolve, reject) => {
          const socket = tlsConnect(
            { host: '127.0.0.1', port: s.port, ca: read('ca.pem'), servername: 'localhost' },
            () => {
              const cert = socket.getPeerCertificate();
              socket.end();
              resolve(cert);
            },
          );
          socket.on('error', reject);
        });
      const before = (await peer()).serialNumber;
      issue('server', 'localhost', 'server');
      await waitFor('new certificate served', async () => (await peer()).serialNumber !== before);
      assert.equal(await status('-u', 'alice:secret'), 200);
    } finally {
      await stop(s);
    }
  });
});

/** Runs a gateway expected to stop by itself; its exit code and output. */
function runToExit(bin: 'ours' | 'reference', config: string): Promise<{ code: number | null; output: string }> {
  return freePort().then(
    (port) =>
      new Promise((resolve) => {
        const flags = [`--web.listen-address=127.0.0.1:${port}`, '--persistence.file=', `--web.config.file=${config}`];
        const proc =
          bin === 'ours'
            ? spawn(process.execPath, [OURS_MAIN, ...flags], { stdio: ['ignore', 'pipe', 'pipe'] })
            : spawn(REFERENCE_BIN, flags, { stdio: ['ignore', 'pipe', 'pipe'] });
        let output = '';
        proc.stdout.on('data', (d: Buffer) => (output += d.toString()));
        proc.stderr.on('data', (d: Buffer) => (output += d.toString()));
        const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
        proc.on('exit', (code) => {
          clearTimeout(timer);
          resolve({ code, output });
        });
      }),
  );
}

/** The reference's err="..." (Go-quoted in its logfmt line), on one line as we print it. */
function referenceError(output: string): string | undefined {
  const m = /msg="HTTP server stopped" err="((?:[^"\\]|\\.)*)"/.exec(output);
  return m === null ? undefined : (JSON.parse(`"${m[1]}"`) as string).replace(/:\n {2}/, ': ').replace(/\n {2}/g, '; ');
}

describe('an invalid file stops the start (exit 1, the file named, the reference’s reason)', () => {
  const cases: Array<{ name: string; yaml?: string; sameReasonAsReference: boolean }> = [
    { name: 'missing file', sameReasonAsReference: true },
    { name: 'bad YAML', yaml: 'tls_server_config: [\n', sameReasonAsReference: false },
    { name: 'unknown key', yaml: 'tls_server_config:\n  cert_filse: server.pem\n', sameReasonAsReference: true },
    { name: 'junk', yaml: 'hWkNKCp3fvIx3jKnsaBI\nTuEjdwNS8A2vYdFbiKqr\n', sameReasonAsReference: true },
    { name: 'password instead of a hash', yaml: 'basic_auth_users:\n  john: doe\n', sameReasonAsReference: true },
    {
      name: 'missing certificate file',
      yaml: 'tls_server_config:\n  cert_file: nothere.pem\n  key_file: server.key\n',
      sameReasonAsReference: true,
    },
    {
      name: 'key not matching the certificate',
      yaml: 'tls_server_config:\n  cert_file: server.pem\n  key_file: client.key\n',
      sameReasonAsReference: true,
    },
    {
      name: 'client CA without client auth type',
      yaml: `${TLS}  client_ca_file: ca.pem\n`,
      sameReasonAsReference: true,
    },
    { name: 'invalid client auth type', yaml: `${TLS}  client_auth_type: Maybe\n`, sameReasonAsReference: true },
    { name: 'invented cipher', yaml: `${TLS}  cipher_suites: [TLS_FANCY]\n`, sameReasonAsReference: true },
    {
      name: 'cipher list without an HTTP/2 suite',
      yaml: `${TLS}  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384]\n`,
      sameReasonAsReference: true,
    },
    {
      name: 'header not allowed',
      yaml: 'http_server_config:\n  headers:\n    Server: nginx\n',
      sameReasonAsReference: true,
    },
    {
      name: 'min_version above max_version (the reference starts, then fails every handshake)',
      yaml: `${TLS}  min_version: TLS13\n  max_version: TLS12\n`,
      sameReasonAsReference: false,
    },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const config =
        c.yaml === undefined ? file('does-not-exist.yml') : writeConfig(`invalid-${cases.indexOf(c)}.yml`, c.yaml);
      const ours = await runToExit('ours', config);
      assert.equal(ours.code, 1, ours.output);
      const line = ours.output.split('\n').find((l) => l.startsWith('pushgateway: error: '));
      assert.ok(line !== undefined, ours.output);
      assert.ok(line.includes(`web config file ${config}: `), line);
      assert.doesNotMatch(ours.output, /listening/);
      if (c.sameReasonAsReference && referenceAvailable()) {
        const ref = await runToExit('reference', config);
        // The reference logs the reason and exits with 0 (a difference we keep on purpose).
        assert.equal(ref.code, 0, ref.output);
        const reason = referenceError(ref.output);
        assert.ok(reason !== undefined, ref.output);
        assert.ok(line.includes(reason), `ours:      ${line}\nreference: ${reason}`);
      }
    });
  }
});

describe(
  'the same answers as the reference (TLS + basic auth + headers)',
  { skip: referenceAvailable() ? false : `no reference at ${REFERENCE_BIN}` },
  () => {
    test('status, body, WWW-Authenticate, headers, content type', async () => {
      const config = writeConfig(
        'compare.yml',
        `${TLS}basic_auth_users:\n  alice: ${HASH}\nhttp_server_config:\n  headers:\n    X-Frame-Options: sameorigin\n    Content-Security-Policy: default-src 'self'\n`,
      );
      const flags = [`--web.config.file=${config}`];
      const ours = await startServer('ours', flags, { scheme: 'https', probe: tlsProbe() });
      running.push(ours);
      const ref = await startServer('reference', flags, { scheme: 'https', probe: tlsProbe() });
      running.push(ref);
      try {
        const requests: string[][] = [
          ['/-/ready'],
          ['/-/ready', '-u', 'alice:wrong'],
          ['/-/ready', '-u', 'nobody:secret'],
          ['/-/ready', '-u', 'alice:secret'],
          ['/-/ready', '-H', 'Authorization: Bearer whatever'],
          ['/-/ready', '-H', 'Authorization: basic YWxpY2U6c2VjcmV0'],
          ['/-/ready', '-H', 'Authorization: Basic YWxpY2U6c2VjcmV0LQ'],
          ['/metrics/job/cmp', '-X', 'PUT', '--data-binary', 'cmp 1\n'],
          ['/metrics/job/cmp', '-u', 'alice:secret', '-X', 'PUT', '--data-binary', 'cmp 1\n'],
          ['/api/v1/status', '-X', 'OPTIONS'],
          ['/nothere', '-u', 'alice:secret'],
          ['/nothere'],
        ];
        for (const [p, ...args] of requests) {
          const [a, b] = await Promise.all([curl(`${ours.url}${p}`, ...args), curl(`${ref.url}${p}`, ...args)]);
          const what = `${p} ${args.join(' ')}`;
          assert.equal(a.status, b.status, what);
          for (const h of ['www-authenticate', 'x-frame-options', 'content-security-policy', 'x-content-type-options'])
            assert.equal(header(a, h), header(b, h), `${what}: ${h}`);
          if (a.status !== 200) {
            assert.equal(a.body, b.body, what);
            assert.equal(header(a, 'content-type'), header(b, 'content-type'), what);
          }
        }
        const [pa, pb] = await Promise.all([
          curl(`http://127.0.0.1:${ours.port}/-/ready`),
          curl(`http://127.0.0.1:${ref.port}/-/ready`),
        ]);
        assert.equal(pa.status, pb.status);
        assert.equal(pa.body, pb.body);
      } finally {
        await stop(ours);
        await stop(ref);
      }
    });
  },
);

test('without tls_server_config the auth still applies over plain HTTP', async () => {
  const config = writeConfig('plain.yml', `basic_auth_users:\n  alice: ${HASH}\n`);
  const probe: ReadyProbe = async (url) => (await fetch(`${url}/-/ready`)).status === 401;
  const s = await startServer('ours', [`--web.config.file=${config}`], { probe });
  running.push(s);
  try {
    assert.equal((await curl(`${s.url}/-/ready`)).status, 401);
    assert.equal((await curl(`${s.url}/-/ready`, '-u', 'alice:secret')).status, 200);
    // The log line may still be on its way through the pipe.
    for (let i = 0; i < 100 && !/msg="TLS is disabled\."/.test(s.output()); i++)
      await new Promise((r) => setTimeout(r, 20));
    assert.match(s.output(), /msg="TLS is disabled\."/);
  } finally {
    await stop(s);
  }
  assert.ok(existsSync(config));
});

test('permissions per credential over TLS: curl with users and a named token; open probes; audit lines', async () => {
  const config = writeConfig(
    'authorization.yml',
    `${TLS}basic_auth_users:\n  alice: ${HASH}\n  bob: '${HASH_BOB}'\nbearer_tokens:\n  - name: ci\n    token: ci-token\n` +
      `authorization:\n  alice: { actions: [read, push, delete, admin] }\n` +
      `  bob: { actions: [read] }\n  ci: { actions: [push], groups: ['job=~"backup-.*"'] }\n`,
  );
  const s = await startServer(
    'ours',
    [`--web.config.file=${config}`, '--web.probes-without-auth', '--log.audit', '--web.enable-admin-api'],
    { scheme: 'https', probe: tlsProbe() },
  );
  running.push(s);
  try {
    const push = (path: string, ...args: string[]) =>
      curl(`${s.url}${path}`, '-X', 'PUT', '--data-binary', 'm 1\n', ...args);
    const ci = ['-H', 'Authorization: Bearer ci-token'];
    const table: Array<[() => Promise<Answer>, number]> = [
      [() => curl(`${s.url}/-/healthy`), 200],
      [() => curl(`${s.url}/-/ready`), 200],
      [() => curl(`${s.url}/metrics`), 401],
      [() => push('/metrics/job/backup-1', ...ci), 200],
      [() => push('/metrics/job/prod', ...ci), 403],
      [() => push('/metrics/job/prod', '-u', 'bob:hunter2'), 403],
      [() => curl(`${s.url}/metrics`, ...ci), 403],
      [() => curl(`${s.url}/metrics`, '-u', 'bob:hunter2'), 200],
      [() => curl(`${s.url}/api/v1/admin/wipe`, '-X', 'PUT', '-u', 'bob:hunter2'), 403],
      [() => curl(`${s.url}/api/v1/admin/wipe`, '-X', 'PUT', '-u', 'alice:secret'), 202],
    ];
    for (const [i, [answer, want]] of table.entries()) {
      const a = await answer();
      assert.equal(a.status, want, `row ${i}: ${a.body}`);
      if (want === 403) assert.match(a.body, /^(token "ci"|user "bob") may not /);
    }
    // The last line asked for: bob's refused wipe is logged before it, so waiting for any wipe is too early.
    for (let i = 0; i < 250 && !/event=wipe credential=user:alice/.test(s.output()); i++)
      await new Promise((r) => setTimeout(r, 20));
    assert.match(
      s.output(),
      /msg=audit event=push credential=token:ci source=127\.0\.0\.1:\d+ group="\{job=\\"backup-1\\"\}" status=200/,
    );
    assert.match(s.output(), /msg=audit event=push credential=token:ci .* status=403/);
    assert.match(s.output(), /msg=audit event=wipe credential=user:alice .* status=202/);
    assert.ok(!s.output().includes('ci-token'), 'no secret in the log');
  } finally {
    await stop(s);
  }
});
