// Permissions per credential (issue #16), in-process through the web config guard and the router:
// credentials × endpoints × methods × groups → status, with the route prefix and path spellings
// that must not reach another action; nothing changes in the store on a refusal.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import bcrypt from 'bcryptjs';
import { pino, type Logger } from 'pino';
import { testGateway } from '../testing/gateway.js';
import { parseWebConfig, WebConfigError } from './webconfig.js';

const dir = mkdtempSync(path.join(tmpdir(), 'permissions-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const HASH = bcrypt.hashSync('secret', 4);
const basic = (user: string, password = 'secret') => 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');

const USERS = ['reader', 'pusher', 'team', 'deleter', 'admin', 'nobody'];
const FILE = `
basic_auth_users:
${USERS.map((u) => `  ${u}: ${HASH}`).join('\n')}
bearer_tokens:
  - name: ci
    token: ci-secret-token
authorization:
  reader: { actions: [read] }
  pusher: { actions: [push], groups: ['job=~"backup-.*"'] }
  team: { actions: [read, push, delete], groups: ['{team="payments"}'] }
  deleter: { actions: [delete], groups: ['env!~"prod|live"'] }
  admin: { actions: [read, push, delete, admin] }
  nobody: { actions: [] }
  ci: { actions: [push, delete], groups: ['job!="prod"'] }
`;

function writeConfig(name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

type Who = (typeof USERS)[number] | 'ci' | 'anonymous' | 'wrong';
const header = (who: Who): Record<string, string> =>
  who === 'anonymous'
    ? {}
    : who === 'ci'
      ? { Authorization: 'Bearer ci-secret-token' }
      : { Authorization: who === 'wrong' ? basic('reader', 'nope') : basic(who) };

/** [who, method, path below the prefix, expected status]. */
type Row = [Who, string, string, number];

const ROWS: Row[] = [
  // read
  ...(['reader', 'team', 'admin'] as const).flatMap((w): Row[] => [
    [w, 'GET', '/metrics', 200],
    [w, 'GET', '/api/v1/metrics', 200],
    [w, 'GET', '/api/v1/status', 200],
    [w, 'GET', '/api/v1/groups', 200],
    [w, 'GET', '/api/v1/groups?match[]={job="x"}', 200],
    [w, 'GET', '/', 200],
    [w, 'GET', '/status', 200],
    [w, 'GET', '/static/style.css', 200],
    [w, 'OPTIONS', '/api/v1/metrics', 200],
  ]),
  ...(['pusher', 'deleter', 'nobody', 'ci'] as const).flatMap((w): Row[] => [
    [w, 'GET', '/metrics', 403],
    [w, 'GET', '/api/v1/metrics', 403],
    [w, 'GET', '/api/v1/status', 403],
    [w, 'GET', '/api/v1/groups', 403],
    [w, 'GET', '/', 403],
    [w, 'GET', '/status', 403],
    [w, 'GET', '/static/app.js', 403],
    [w, 'OPTIONS', '/api/v1/metrics', 403],
    // HEAD is no route: nothing is read whoever asks.
    [w, 'HEAD', '/metrics', 405],
  ]),
  ['anonymous', 'GET', '/metrics', 401],
  ['wrong', 'GET', '/metrics', 401],
  // probes: any credential, none without (no --web.probes-without-auth here)
  ...(['reader', 'pusher', 'nobody', 'ci'] as const).map((w): Row => [w, 'GET', '/-/healthy', 200]),
  ['nobody', 'GET', '/-/ready', 200],
  ['anonymous', 'GET', '/-/healthy', 401],
  // push: =~ (pusher), = (team), != (ci)
  ['pusher', 'PUT', '/metrics/job/backup-1', 200],
  ['pusher', 'POST', '/metrics/job/backup-2/instance/a', 200],
  ['pusher', 'PUT', '/metrics/job/prod', 403],
  ['pusher', 'PUT', '/metrics/job/x/team/payments', 403],
  ['pusher', 'PUT', '/metrics/job/xbackup-1', 403],
  ['team', 'PUT', '/metrics/job/x/team/payments', 200],
  ['team', 'POST', '/metrics/job/x/team/payments/instance/i', 200],
  ['team', 'PUT', '/metrics/job/x/team/payment', 403],
  ['team', 'PUT', '/metrics/job/backup-1', 403],
  ['ci', 'PUT', '/metrics/job/build', 200],
  ['ci', 'PUT', '/metrics/job/prod', 403],
  ['ci', 'PUT', '/metrics/job/prod/instance/a', 403],
  ['reader', 'PUT', '/metrics/job/backup-1', 403],
  ['deleter', 'POST', '/metrics/job/x/env/dev', 403],
  ['nobody', 'PUT', '/metrics/job/backup-1', 403],
  ['admin', 'PUT', '/metrics/job/prod', 200],
  ['anonymous', 'PUT', '/metrics/job/backup-1', 401],
  // path spellings: cleaned paths are redirected (no action), the rest are judged on the key they name
  ['ci', 'PUT', '/metrics/job/prod/', 403],
  ['ci', 'PUT', '/metrics/job@base64/cHJvZA', 403],
  ['ci', 'PUT', '/metrics/job/%70rod', 403],
  ['ci', 'PUT', '//metrics/job/prod', 301],
  ['ci', 'PUT', '/./metrics/job/prod', 301],
  ['ci', 'PUT', '/metrics/job/build/../prod', 301],
  ['pusher', 'PUT', '/metrics/job/%2e%2e', 403],
  ['pusher', 'PUT', '/metrics/job/%2e%2e/instance/backup-1', 403],
  ['pusher', 'PUT', '/metrics/job/backup-1/%2e%2e/prod', 400],
  ['pusher', 'DELETE', '/metrics/job/backup-1', 403],
  ['pusher', 'OPTIONS', '/metrics/job/prod', 200],
  ['pusher', 'HEAD', '/metrics/job/prod', 405],
  // delete: !~ (deleter), != (ci), = (team)
  ['deleter', 'DELETE', '/metrics/job/x/env/dev', 202],
  ['deleter', 'DELETE', '/metrics/job/x/env/prod', 403],
  ['deleter', 'DELETE', '/metrics/job/x/env/live', 403],
  ['deleter', 'DELETE', '/metrics/job/x/env/dev/', 400],
  ['deleter', 'DELETE', '/metrics/job/x/env/prod/', 400],
  ['deleter', 'DELETE', '/metrics/job/x/env@base64/cHJvZA', 403],
  ['ci', 'DELETE', '/metrics/job/backup-1', 202],
  ['ci', 'DELETE', '/metrics/job/prod', 403],
  ['team', 'DELETE', '/metrics/job/x/team/payments', 202],
  ['team', 'DELETE', '/metrics/job/backup-1', 403],
  ['reader', 'DELETE', '/metrics/job/backup-1', 403],
  // admin
  ['admin', 'PUT', '/api/v1/admin/wipe', 202],
  ['admin', 'DELETE', '/api/v1/admin/groups?match[]={job=~".%2B"}', 202],
  ['admin', 'PUT', '/-/quit', 200],
  ['admin', 'POST', '/-/quit', 200],
  ...(['reader', 'team', 'ci', 'deleter'] as const).flatMap((w): Row[] => [
    [w, 'PUT', '/api/v1/admin/wipe', 403],
    [w, 'DELETE', '/api/v1/admin/groups?match[]={job=~".%2B"}', 403],
    [w, 'PUT', '/-/quit', 403],
  ]),
  ['team', 'PUT', '/api/v1/admin/wipe/', 307],
  ['team', 'PUT', '/api//admin/wipe', 301],
];

/** Groups present before each row, so that deletes and wipes have something to remove. */
const SEED = ['/metrics/job/backup-1', '/metrics/job/prod', '/metrics/job/x/env/dev', '/metrics/job/x/env/prod'];

for (const prefix of ['', '/pfx']) {
  test(`credentials × endpoints × methods × groups, route prefix ${JSON.stringify(prefix)}`, async () => {
    const file = writeConfig(`web${prefix.replace('/', '-')}.yml`, FILE);
    const flags = [`--web.config.file=${file}`, '--web.enable-admin-api', '--web.enable-lifecycle'];
    const gw = await testGateway(prefix === '' ? flags : [...flags, `--web.route-prefix=${prefix}`]);
    const failures: string[] = [];
    for (const [who, method, p, want] of ROWS) {
      for (const seed of SEED) {
        const r = await gw.request('PUT', prefix + seed, 'seed 1\n', header('admin'));
        assert.equal(r.status, 200, `seeding ${seed}: ${r.text}`);
      }
      const before = gw.store.version;
      const quits = gw.quits;
      const r = await gw.request(method, prefix + p, method === 'PUT' || method === 'POST' ? 'm 1\n' : undefined, {
        ...header(who),
      });
      const row = `${who} ${method} ${prefix}${p}`;
      if (r.status !== want) failures.push(`${row}: ${r.status} (want ${want}) ${r.text.slice(0, 200)}`);
      if (want >= 300 && gw.store.version !== before) failures.push(`${row}: the store changed`);
      if (want >= 300 && gw.quits !== quits) failures.push(`${row}: asked the process to quit`);
      if (r.status === 403) {
        if (!r.text.includes(who === 'ci' ? 'token "ci"' : `user "${who}"`))
          failures.push(`${row}: the 403 does not name the credential: ${r.text}`);
        if (r.text.includes('secret')) failures.push(`${row}: the 403 shows a secret`);
      }
    }
    assert.deepEqual(failures, []);
  });
}

test('a refusal says who may not do what, and which groups it may touch', async () => {
  const gw = await testGateway([`--web.config.file=${writeConfig('words.yml', FILE)}`]);
  const put = await gw.request('PUT', '/metrics/job/prod/instance/a', 'm 1\n', header('pusher'));
  assert.equal(put.status, 403);
  assert.equal(
    put.text,
    'user "pusher" may not push the group {instance="a", job="prod"}; its groups: {job=~"backup-.*"} ' +
      '(web config file, authorization)\n',
  );
  const get = await gw.request('GET', '/metrics', undefined, header('ci'));
  assert.equal(get.text, 'token "ci" may not read (scrapes, /api/v1, the UI); its actions: push, delete\n');
  const none = await gw.request('DELETE', '/metrics/job/a', undefined, header('nobody'));
  assert.equal(none.text, 'user "nobody" may not delete groups; it may take no action\n');
});

test('without an authorization section every credential may do everything, as upstream', async () => {
  const file = writeConfig(
    'open.yml',
    `basic_auth_users:\n  reader: ${HASH}\nbearer_tokens:\n  - name: ci\n    token: ci-secret-token\n  - bare-token\n`,
  );
  const gw = await testGateway([`--web.config.file=${file}`, '--web.enable-admin-api']);
  for (const h of [header('reader'), header('ci'), { Authorization: 'Bearer bare-token' }]) {
    assert.equal((await gw.request('PUT', '/metrics/job/prod', 'm 1\n', h)).status, 200);
    assert.equal((await gw.request('GET', '/metrics', undefined, h)).status, 200);
    assert.equal((await gw.request('DELETE', '/metrics/job/prod', undefined, h)).status, 202);
    assert.equal((await gw.request('PUT', '/api/v1/admin/wipe', undefined, h)).status, 202);
  }
  assert.equal((await gw.request('GET', '/metrics')).status, 401);
});

test('a reload of the file applies new permissions to the next request', async () => {
  const file = writeConfig('reload.yml', FILE);
  const gw = await testGateway([`--web.config.file=${file}`]);
  assert.equal((await gw.request('PUT', '/metrics/job/prod', 'm 1\n', header('pusher'))).status, 403);
  writeFileSync(
    file,
    FILE.replace(`pusher: { actions: [push], groups: ['job=~"backup-.*"'] }`, 'pusher: { actions: [push] }'),
  );
  gw.web!.reload();
  assert.equal((await gw.request('PUT', '/metrics/job/prod', 'm 1\n', header('pusher'))).status, 200);
  // And away again: back to 403, the group kept.
  writeFileSync(file, FILE);
  gw.web!.reload();
  assert.equal((await gw.request('PUT', '/metrics/job/prod', 'm 2\n', header('pusher'))).status, 403);
  assert.match(
    (await gw.request('GET', '/metrics', undefined, header('admin'))).text,
    /^m\{instance="",job="prod"\} 1$/m,
  );
});

describe('invalid authorization sections are refused with the reason', () => {
  const users = `basic_auth_users:\n  alice: ${HASH}\n`;
  const cases: Array<[string, string, string]> = [
    ['an unknown action', `${users}authorization:\n  alice: { actions: [read, wirte] }\n`, 'unknown action "wirte"'],
    ['a name that is no credential', `${users}authorization:\n  alcie: { actions: [read] }\n`, '"alcie" is neither'],
    [
      'a credential without an entry',
      `basic_auth_users:\n  alice: ${HASH}\n  bob: ${HASH}\nauthorization:\n  alice: { actions: [read] }\n`,
      'user "bob" has no entry',
    ],
    [
      'a selector that does not parse',
      `${users}authorization:\n  alice: { actions: [push], groups: ['job=~"("'] }\n`,
      'authorization: user "alice": groups: invalid regular expression',
    ],
    [
      'groups without push or delete',
      `${users}authorization:\n  alice: { actions: [read], groups: ['job="a"'] }\n`,
      'groups limit push and delete',
    ],
    ['an empty groups list', `${users}authorization:\n  alice: { actions: [push], groups: [] }\n`, 'groups is empty'],
    [
      'a token without a name',
      `${users}bearer_tokens: [abc]\nauthorization:\n  alice: { actions: [read] }\n`,
      'token 1 has no name',
    ],
    [
      'a token named as a user',
      `${users}bearer_tokens:\n  - { name: alice, token: abc }\nauthorization:\n  alice: { actions: [read] }\n`,
      'already a basic_auth_users user',
    ],
    ['an unknown key', `${users}authorization:\n  alice: { actions: [read], group: [] }\n`, 'field group not found'],
    ['no credentials at all', `authorization: {}\n`, 'no basic_auth_users nor bearer_tokens'],
  ];
  for (const [name, text, want] of cases) {
    test(name, () => {
      assert.throws(
        () => parseWebConfig(text, '/etc/web.yml'),
        (e: unknown) =>
          e instanceof WebConfigError &&
          e.message.startsWith('web config file /etc/web.yml: ') &&
          e.message.includes(want),
      );
    });
  }
  test('a file with groups written with and without braces, and != that passes the empty string', () => {
    const c = parseWebConfig(
      `${users}authorization:\n  alice: { actions: [push], groups: ['team!="x"', '{ job=~"a|b", env="dev" }'] }\n`,
      '/etc/web.yml',
    );
    assert.deepEqual(c.permissions?.get('alice')?.groupsText, ['{team!="x"}', '{job=~"a|b", env="dev"}']);
  });
});

test('--web.probes-without-auth opens exactly the two probes', async () => {
  const file = writeConfig('probes.yml', FILE);
  for (const prefix of ['', '/pfx']) {
    const flags = [`--web.config.file=${file}`, '--web.probes-without-auth', '--web.enable-lifecycle'];
    const gw = await testGateway(prefix === '' ? flags : [...flags, `--web.route-prefix=${prefix}`]);
    assert.equal((await gw.request('GET', `${prefix}/-/healthy`)).status, 200);
    assert.equal((await gw.request('GET', `${prefix}/-/ready?x=1`)).status, 200);
    for (const p of ['/-/healthy/', '//-/healthy', '/-/./healthy', '/metrics', '/api/v1/status', '/-/quit'])
      assert.equal((await gw.request('GET', prefix + p)).status, 401, prefix + p);
    assert.equal((await gw.request('PUT', `${prefix}/-/quit`)).status, 401);
    assert.equal((await gw.request('PUT', `${prefix}/metrics/job/a`, 'm 1\n')).status, 401);
    assert.equal(gw.store.groupCount, 0);
  }
  const closed = await testGateway([`--web.config.file=${file}`]);
  assert.equal((await closed.request('GET', '/-/healthy')).status, 401);
});

function capture(): { log: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const out = new Writable({
    write(chunk: Buffer, _e, done) {
      for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level: 'info', base: null, timestamp: false }, out) as unknown as Logger, lines };
}

test('--log.audit: pushes, deletes, wipes and expiries with credential, source, group and result', async () => {
  const { log, lines } = capture();
  const file = writeConfig('audit.yml', FILE);
  const gw = await testGateway(
    [`--web.config.file=${file}`, '--log.audit', '--web.enable-admin-api', '--push.default-ttl=300ms'],
    { log, remoteAddress: '192.0.2.7' },
  );
  await gw.request('PUT', '/metrics/job/backup-1', 'm 1\n', header('pusher'));
  await gw.request('PUT', '/metrics/job/prod', 'm 1\n', header('pusher'));
  await gw.request('DELETE', '/metrics/job/build', undefined, header('ci'));
  await gw.request('PUT', '/api/v1/admin/wipe', undefined, header('admin'));
  await gw.request('PUT', '/metrics/job/backup-2', 'm 1\n', header('pusher'));
  await gw.request('GET', '/metrics', undefined, header('reader'));
  const deadline = Date.now() + 5000;
  while (!lines.some((l) => l.event === 'expire') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const audit = lines.filter((l) => l.msg === 'audit').map(({ msg: _m, level: _l, ...rest }) => rest);
  assert.deepEqual(audit, [
    { event: 'push', credential: 'user:pusher', source: '192.0.2.7', group: '{job="backup-1"}', status: 200 },
    { event: 'push', credential: 'user:pusher', source: '192.0.2.7', group: '{job="prod"}', status: 403 },
    { event: 'delete', credential: 'token:ci', source: '192.0.2.7', group: '{job="build"}', status: 202 },
    { event: 'wipe', credential: 'user:admin', source: '192.0.2.7', status: 202 },
    { event: 'push', credential: 'user:pusher', source: '192.0.2.7', group: '{job="backup-2"}', status: 200 },
    { event: 'expire', credential: 'none', group: '{job="backup-2"}', status: 'expired' },
  ]);
});

test('--log.audit: failed authentications, one line per source per window', async () => {
  const { log, lines } = capture();
  const file = writeConfig('auditfail.yml', FILE);
  const gw = await testGateway([`--web.config.file=${file}`, '--log.audit'], { log });
  const from = async (address: string, n: number) => {
    const { inject } = await import('../testing/inject.js');
    for (let i = 0; i < n; i++) {
      const r = await inject(gw.listener, {
        url: '/metrics',
        headers: { Authorization: `Bearer guess-${i}` },
        remoteAddress: address,
      });
      assert.equal(r.status, 401);
    }
  };
  await from('192.0.2.1', 200);
  await from('192.0.2.2', 3);
  const failures = lines.filter((l) => l.event === 'auth_failure');
  assert.deepEqual(
    failures.map((l) => [l.source, l.credential]),
    [
      ['192.0.2.1', 'bearer token'],
      ['192.0.2.2', 'bearer token'],
    ],
  );
  assert.ok(!JSON.stringify(lines).includes('guess-'), 'no token in the log');
});

test('the UI names the credential and offers only what it may do', async () => {
  const gw = await testGateway([`--web.config.file=${writeConfig('ui.yml', FILE)}`, '--web.enable-admin-api']);
  for (const p of ['/metrics/job/x/team/payments', '/metrics/job/backup-1'])
    assert.equal((await gw.request('PUT', p, 'm 1\n', header('admin'))).status, 200);
  const page = await gw.request('GET', '/', undefined, header('team'));
  assert.match(page.text, /Signed in as user &#34;team&#34;/);
  assert.doesNotMatch(page.text, /id="delete-all"/);
  assert.match((await gw.request('GET', '/', undefined, header('admin'))).text, /id="delete-all"/);
  const list = JSON.parse((await gw.request('GET', '/api/v1/groups', undefined, header('team'))).text) as {
    data: { groups: Array<{ labels: Record<string, string>; deletable?: boolean }> };
  };
  assert.deepEqual(
    list.data.groups.map((g) => [g.labels.job, g.deletable]),
    [
      ['backup-1', false],
      ['x', undefined],
    ],
  );
});
