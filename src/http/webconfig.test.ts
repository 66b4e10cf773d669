// The web config file: parsing and validation (valid and invalid files, with the reference's error
// texts), the TLS options built from it, authentication decisions, the bcrypt cache, the request
// guard and reloading.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import {
  Authenticator,
  buildTlsSetup,
  goBcryptHashError,
  LiveWebConfig,
  loadWebConfig,
  parseBasicAuth,
  parseBearer,
  parseWebConfig,
  WebConfigError,
  webConfigGuard,
  type LoadedWebConfig,
  type WebConfig,
  type WebConfigSource,
} from './webconfig.js';
import { BcryptPool } from './bcryptpool.js';

const HASH = bcrypt.hashSync('secret', 4);
const HASH_BOB = bcrypt.hashSync('hunter2', 4);
/** One pool for the file's Authenticators: a worker thread takes a while to start. */
// Checks here fail many times from one (unnamed) source: no blocks, which bcryptpool.test.ts tests.
const POOL = new BcryptPool({ freeFailures: Infinity });
const basic = (user: string, password: string) => 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');

let dir: string;
before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'webconfig-test-'));
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  openssl(
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    'server.key',
    '-out',
    'server.crt',
    '-days',
    '2',
    '-subj',
    '/CN=localhost',
  );
  openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'other.key');
  writeFileSync(path.join(dir, 'junk.pem'), 'not a certificate\n');
});
after(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

describe('parseWebConfig: valid files', () => {
  const cases: Array<{ name: string; yaml: string; check: (c: WebConfig) => void }> = [
    {
      name: 'empty file: no TLS, no auth, toolkit defaults',
      yaml: '',
      check: (c) => {
        assert.equal(c.tlsEnabled, false);
        assert.equal(c.http2, true);
        assert.equal(c.tls.minVersion, 'TLS12');
        assert.equal(c.tls.maxVersion, 'TLS13');
        assert.equal(c.tls.preferServerCipherSuites, true);
        assert.equal(c.users.size, 0);
      },
    },
    {
      name: 'users only (no TLS)',
      yaml: `basic_auth_users:\n  alice: ${HASH}\n  bob: '${HASH_BOB}'\n`,
      check: (c) => {
        assert.equal(c.tlsEnabled, false);
        assert.deepEqual([...c.users.keys()], ['alice', 'bob']);
        assert.equal(c.users.get('bob'), HASH_BOB);
      },
    },
    {
      name: "the toolkit's header example",
      yaml: `http_server_config:\n  headers:\n    X-Frame-Options: deny\n    Strict-Transport-Security: max-age=31536000; includeSubDomains\n    X-Content-Type-Options: nosniff\n    X-XSS-Protection: 1\n    Content-Security-Policy: "default-src 'self' *.test.example.net"\n`,
      check: (c) =>
        assert.deepEqual(c.headers, [
          ['X-Frame-Options', 'deny'],
          ['Strict-Transport-Security', 'max-age=31536000; includeSubDomains'],
          ['X-Content-Type-Options', 'nosniff'],
          ['X-XSS-Protection', '1'],
          ['Content-Security-Policy', "default-src 'self' *.test.example.net"],
        ]),
    },
    {
      name: 'full TLS section; relative paths join the file directory',
      yaml: [
        'tls_server_config:',
        '  cert_file: server.crt',
        '  key_file: /abs/server.key',
        '  client_auth_type: RequireAndVerifyClientCert',
        '  client_ca_file: ca/ca.pem',
        '  min_version: TLS13',
        '  max_version: TLS13',
        '  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384]',
        '  prefer_server_cipher_suites: false',
        '  curve_preferences: [X25519, CurveP521]',
        'http_server_config:',
        '  http2: false',
        '',
      ].join('\n'),
      check: (c) => {
        assert.equal(c.tlsEnabled, true);
        assert.equal(c.tls.certFile, path.join('/etc/pg', 'server.crt'));
        assert.equal(c.tls.keyFile, '/abs/server.key');
        assert.equal(c.tls.clientCaFile, path.join('/etc/pg', 'ca/ca.pem'));
        assert.equal(c.tls.clientAuthType, 'RequireAndVerifyClientCert');
        assert.equal(c.tls.minVersion, 'TLS13');
        assert.deepEqual(c.tls.cipherSuites, ['TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384']);
        assert.equal(c.tls.preferServerCipherSuites, false);
        assert.deepEqual(c.tls.curvePreferences, ['X25519', 'CurveP521']);
        assert.equal(c.http2, false);
      },
    },
    {
      name: 'TLS settings without cert, key, client auth or CA: TLS stays off (as the toolkit)',
      yaml: 'tls_server_config:\n  min_version: TLS13\n',
      check: (c) => assert.equal(c.tlsEnabled, false),
    },
    {
      name: 'YAML 1.1 booleans (yaml.v2 reads yes/no/on/off)',
      yaml: 'http_server_config:\n  http2: no\ntls_server_config:\n  prefer_server_cipher_suites: off\n',
      check: (c) => {
        assert.equal(c.http2, false);
        assert.equal(c.tls.preferServerCipherSuites, false);
      },
    },
    {
      name: 'numbers where strings go are taken as written (a user named 0755)',
      yaml: `basic_auth_users:\n  0755: ${HASH}\n`,
      check: (c) => assert.deepEqual([...c.users.keys()], ['0755']),
    },
    {
      name: 'anchors and aliases',
      yaml: `basic_auth_users:\n  alice: &h ${HASH}\n  carol: *h\n`,
      check: (c) => assert.equal(c.users.get('carol'), HASH),
    },
    {
      name: 'merge keys (yaml.v2 supports them; explicit keys win)',
      yaml: 'http_server_config:\n  <<: {http2: false, headers: {X-Frame-Options: deny}}\n  headers: {X-Frame-Options: sameorigin}\n',
      check: (c) => {
        assert.equal(c.http2, false);
        assert.deepEqual(c.headers, [['X-Frame-Options', 'sameorigin']]);
      },
    },
    {
      name: 'null sections and values are absent',
      yaml: 'tls_server_config:\nhttp_server_config:\n  headers:\nbasic_auth_users: ~\n',
      check: (c) => {
        assert.equal(c.tlsEnabled, false);
        assert.equal(c.headers.length, 0);
      },
    },
    {
      name: "RequireClientCert: the toolkit's old name, kept",
      yaml: 'tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: RequireClientCert\n',
      check: (c) => assert.equal(c.tls.clientAuthType, 'RequireClientCert'),
    },
    {
      name: 'bearer tokens (our extension)',
      yaml: 'bearer_tokens:\n  - abc.DEF-123_~+/=\n  - "second"\n',
      check: (c) => assert.deepEqual(c.bearerTokens, ['abc.DEF-123_~+/=', 'second']),
    },
  ];
  for (const c of cases) test(c.name, () => c.check(parseWebConfig(c.yaml, '/etc/pg/web.yml')));
});

describe('parseWebConfig: invalid files (messages as the reference prints them)', () => {
  const cases: Array<{ name: string; yaml: string; error: string }> = [
    { name: 'not YAML', yaml: 'tls_server_config: [\n', error: 'yaml: line 2:' },
    {
      name: 'junk text (the toolkit test file)',
      yaml: 'hWkNKCp3fvIx3jKnsaBI\nTuEjdwNS8A2vYdFbiKqr\n',
      error: 'line 1: cannot unmarshal !!str `hWkNKCp...` into web.Config',
    },
    { name: 'a list', yaml: '- a\n', error: 'line 1: cannot unmarshal !!seq into web.Config' },
    { name: 'unknown top-level key', yaml: 'foo: bar\n', error: 'line 1: field foo not found in type web.Config' },
    {
      name: 'unknown TLS key (typo)',
      yaml: 'tls_server_config:\n  cert_filse: "server.crt"\n',
      error: 'line 2: field cert_filse not found in type web.TLSConfig',
    },
    {
      name: 'unknown http key',
      yaml: 'http_server_config:\n  http3: true\n',
      error: 'line 2: field http3 not found in type web.HTTPConfig',
    },
    {
      name: 'keys are case-sensitive',
      yaml: 'Basic_Auth_Users:\n  a: b\n',
      error: 'field Basic_Auth_Users not found in type web.Config',
    },
    {
      name: 'a field twice',
      yaml: 'http_server_config:\n  http2: true\nhttp_server_config:\n  http2: false\n',
      error: 'line 3: field http_server_config already set in type web.Config',
    },
    {
      name: 'a merge of a scalar',
      yaml: 'http_server_config:\n  <<: 1\n',
      error: 'map merge requires map or sequence of maps as the value',
    },
    {
      name: 'a user twice',
      yaml: `basic_auth_users:\n  a: ${HASH}\n  a: ${HASH}\n`,
      error: 'line 3: key "a" already set in map',
    },
    {
      name: 'a quoted boolean',
      yaml: 'http_server_config:\n  http2: "yes"\n',
      error: 'line 2: cannot unmarshal !!str `yes` into bool',
    },
    {
      name: 'a list where a string goes',
      yaml: 'tls_server_config:\n  cert_file: [a]\n',
      error: 'line 2: cannot unmarshal !!seq into string',
    },
    {
      name: 'a string where a list goes',
      yaml: 'tls_server_config:\n  cipher_suites: TLS_AES_128_GCM_SHA256\n',
      error: 'into []web.Cipher',
    },
    {
      name: 'users as a list',
      yaml: 'basic_auth_users:\n  - alice\n',
      error: 'cannot unmarshal !!seq into map[string]config.Secret',
    },
    {
      name: 'an invented cipher',
      yaml: 'tls_server_config:\n  cipher_suites:\n  - TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA2048\n',
      error: 'unknown cipher: TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA2048',
    },
    {
      name: "one of Go's insecure ciphers",
      yaml: 'tls_server_config:\n  cipher_suites: [TLS_RSA_WITH_3DES_EDE_CBC_SHA]\n',
      error: 'unknown cipher: TLS_RSA_WITH_3DES_EDE_CBC_SHA',
    },
    {
      name: 'an OpenSSL cipher name',
      yaml: 'tls_server_config:\n  cipher_suites: [ECDHE-RSA-AES128-GCM-SHA256]\n',
      error: 'unknown cipher: ECDHE-RSA-AES128-GCM-SHA256',
    },
    {
      name: 'an invented curve',
      yaml: 'tls_server_config:\n  curve_preferences:\n    - CurveP257\n',
      error: 'unknown curve: CurveP257',
    },
    {
      name: 'an invented TLS version',
      yaml: 'tls_server_config:\n  min_version: TLS111\n',
      error: 'unknown TLS version: TLS111',
    },
    {
      name: 'a header the toolkit does not allow',
      yaml: 'http_server_config:\n  headers:\n    Content-Type: foo\n',
      error: 'HTTP header "Content-Type" can not be configured',
    },
    {
      name: 'header names are case-sensitive',
      yaml: 'http_server_config:\n  headers:\n    x-frame-options: deny\n',
      error: 'HTTP header "x-frame-options" can not be configured',
    },
    {
      name: 'X-Frame-Options value',
      yaml: 'http_server_config:\n  headers:\n    X-Frame-Options: foo\n',
      error: 'invalid value for X-Frame-Options. Expected one of: ["deny" "sameorigin"], but got: "foo"',
    },
    {
      name: 'X-Content-Type-Options value',
      yaml: 'http_server_config:\n  headers:\n    X-Content-Type-Options: sniff\n',
      error: 'invalid value for X-Content-Type-Options. Expected one of: ["nosniff"], but got: "sniff"',
    },
    {
      name: 'a password instead of a hash',
      yaml: 'basic_auth_users:\n  john: doe\n',
      error: 'user "john": crypto/bcrypt: hashedSecret too short to be a bcrypted password',
    },
    {
      name: 'an empty hash',
      yaml: 'basic_auth_users:\n  john:\n',
      error: 'crypto/bcrypt: hashedSecret too short to be a bcrypted password',
    },
    {
      name: 'a hash Go accepts but bcrypt can never match',
      yaml: `basic_auth_users:\n  john: '${HASH.replace('$2b$', '$1$')}x'\n`,
      error: 'user "john": not a bcrypt hash',
    },
    {
      name: 'an empty bearer token',
      yaml: 'bearer_tokens:\n  - ""\n',
      error: 'bearer_tokens: token 1 must be non-empty',
    },
    { name: 'a bearer token with a space', yaml: 'bearer_tokens: ["a b"]\n', error: 'bearer_tokens: token 1' },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.throws(
        () => parseWebConfig(c.yaml, '/etc/pg/web.yml'),
        (e: unknown) => {
          assert.ok(e instanceof WebConfigError, String(e));
          assert.ok(e.message.startsWith('web config file /etc/pg/web.yml: '), e.message);
          assert.ok(e.message.includes(c.error), `${e.message}\n  does not contain\n${c.error}`);
          return true;
        },
      );
    });
  }
});

test("goBcryptHashError: Go's bcrypt.Cost checks and messages", () => {
  const table: Array<[string, string | undefined]> = [
    [HASH, undefined],
    ['$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi', undefined],
    ['short', 'crypto/bcrypt: hashedSecret too short to be a bcrypted password'],
    ['x' + HASH.slice(1), "crypto/bcrypt: bcrypt hashes must start with '$', but hashedSecret started with 'x'"],
    ['$3' + HASH.slice(2), "crypto/bcrypt: bcrypt algorithm version '3' requested is newer than current version '2'"],
    [HASH.replace('$04$', '$ab$'), 'strconv.Atoi: parsing "ab": invalid syntax'],
    [HASH.replace('$04$', '$03$'), 'crypto/bcrypt: cost 3 is outside allowed range (4,31)'],
    [HASH.replace('$04$', '$32$'), 'crypto/bcrypt: cost 32 is outside allowed range (4,31)'],
  ];
  for (const [hash, want] of table) assert.equal(goBcryptHashError(hash), want, hash);
});

describe('loadWebConfig / buildTlsSetup: files and TLS options', () => {
  const tlsYaml = (extra: string, cert = 'server.crt', key = 'server.key') =>
    `tls_server_config:\n  cert_file: ${cert}\n  key_file: ${key}\n${extra}`;
  const invalid: Array<{ name: string; yaml: string; error: string }> = [
    { name: 'missing config file', yaml: '', error: 'no such file or directory' },
    {
      name: 'cert path empty',
      yaml: 'tls_server_config:\n  cert_file: ""\n  key_file: server.key\n',
      error: 'missing cert_file',
    },
    {
      name: 'key path empty',
      yaml: 'tls_server_config:\n  cert_file: server.crt\n  key_file: ""\n',
      error: 'missing key_file',
    },
    {
      name: 'only a client auth type',
      yaml: 'tls_server_config:\n  client_auth_type: "x"\n',
      error: 'missing cert_file',
    },
    {
      name: 'cert file missing',
      yaml: tlsYaml('', 'nothere.crt'),
      error: `failed to load X509KeyPair: open ${path.join('DIR', 'nothere.crt')}: no such file or directory`,
    },
    {
      name: 'key file missing',
      yaml: tlsYaml('', 'server.crt', 'nothere.key'),
      error: `failed to load X509KeyPair: open ${path.join('DIR', 'nothere.key')}: no such file or directory`,
    },
    {
      name: 'cert file is not PEM',
      yaml: tlsYaml('', 'junk.pem'),
      error: 'tls: failed to find any PEM data in certificate input',
    },
    {
      name: 'key file is not PEM',
      yaml: tlsYaml('', 'server.crt', 'junk.pem'),
      error: 'tls: failed to find any PEM data in key input',
    },
    {
      name: 'key does not match the certificate',
      yaml: tlsYaml('', 'server.crt', 'other.key'),
      error: 'tls: private key does not match public key',
    },
    {
      name: 'client CA without client auth',
      yaml: tlsYaml('  client_ca_file: server.crt\n'),
      error: "Client CA's have been configured without a Client Auth Policy",
    },
    {
      name: 'client CA file missing',
      yaml: tlsYaml('  client_ca_file: nothere.pem\n  client_auth_type: RequireAndVerifyClientCert\n'),
      error: 'no such file or directory',
    },
    {
      name: 'client CA file without certificates',
      yaml: tlsYaml('  client_ca_file: junk.pem\n  client_auth_type: RequireAndVerifyClientCert\n'),
      error: 'no PEM certificate found',
    },
    {
      name: 'invalid client auth type',
      yaml: tlsYaml('  client_auth_type: Sometimes\n'),
      error: 'Invalid ClientAuth: Sometimes',
    },
    {
      name: 'min above max',
      yaml: tlsYaml('  min_version: TLS13\n  max_version: TLS12\n'),
      error: 'min_version TLS13 is above max_version TLS12',
    },
    {
      name: "cipher list without HTTP/2's required suite (as Go's HTTP/2 server refuses it)",
      yaml: tlsYaml('  cipher_suites:\n    - TLS_RSA_WITH_AES_128_CBC_SHA\n  max_version: TLS12\n'),
      error: 'http2: TLSConfig.CipherSuites is missing an HTTP/2-required AES_128_GCM_SHA256 cipher',
    },
  ];
  for (const c of invalid) {
    test(`invalid: ${c.name}`, () => {
      const file =
        c.name === 'missing config file'
          ? path.join(dir, 'nothere.yml')
          : write(`bad-${invalid.indexOf(c)}.yml`, c.yaml);
      assert.throws(
        () => loadWebConfig(file),
        (e: unknown) => {
          assert.ok(e instanceof WebConfigError, String(e));
          assert.ok(e.message.includes(file), e.message);
          const want = c.error.replaceAll('DIR', dir);
          assert.ok(e.message.includes(want), `${e.message}\n  does not contain\n${want}`);
          return true;
        },
      );
    });
  }

  const valid: Array<{ name: string; yaml: string; check: (l: LoadedWebConfig) => void }> = [
    {
      name: 'defaults: TLS 1.2-1.3, server cipher order, no client certificate',
      yaml: tlsYaml(''),
      check: (l) => {
        const o = l.tls!.options;
        assert.equal(o.minVersion, 'TLSv1.2');
        assert.equal(o.maxVersion, 'TLSv1.3');
        assert.equal(o.honorCipherOrder, true);
        assert.equal(o.requestCert, false);
        assert.equal(o.ciphers, undefined);
        assert.equal(l.tls!.clientAuth, 'NoClientCert');
      },
    },
    {
      name: 'cipher suites map to OpenSSL names; TLS 1.3 suites as Go when none is named',
      yaml: tlsYaml(
        '  cipher_suites:\n  - TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\n  - TLS_RSA_WITH_AES_128_CBC_SHA\n  - TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256\n',
      ),
      check: (l) =>
        assert.equal(
          l.tls!.options.ciphers,
          'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:ECDHE-RSA-AES128-GCM-SHA256:AES128-SHA:ECDHE-ECDSA-CHACHA20-POLY1305',
        ),
    },
    {
      name: 'named TLS 1.3 suites are honoured',
      yaml: tlsYaml('  cipher_suites: [TLS_AES_256_GCM_SHA384, TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]\n'),
      check: (l) => assert.equal(l.tls!.options.ciphers, 'TLS_AES_256_GCM_SHA384:ECDHE-ECDSA-AES128-GCM-SHA256'),
    },
    {
      name: 'only TLS 1.3 suites: TLS 1.2 is refused (no suite for it)',
      yaml: tlsYaml('  cipher_suites: [TLS_AES_128_GCM_SHA256]\nhttp_server_config:\n  http2: false\n'),
      check: (l) => assert.equal(l.tls!.options.minVersion, 'TLSv1.3'),
    },
    {
      name: 'TLS 1.0 needs OpenSSL security level 0',
      yaml: tlsYaml('  min_version: TLS10\n'),
      check: (l) => {
        assert.equal(l.tls!.options.minVersion, 'TLSv1');
        assert.match(l.tls!.options.ciphers!, /:@SECLEVEL=0$/);
      },
    },
    {
      name: 'curves',
      yaml: tlsYaml('  curve_preferences: [CurveP256, CurveP384, CurveP521, X25519]\n'),
      check: (l) => assert.equal(l.tls!.options.ecdhCurve, 'P-256:P-384:P-521:X25519'),
    },
    {
      name: 'RequireAndVerifyClientCert with a CA: OpenSSL verifies',
      yaml: tlsYaml('  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: server.crt\n'),
      check: (l) => {
        assert.equal(l.tls!.options.requestCert, true);
        assert.equal(l.tls!.options.rejectUnauthorized, true);
        assert.ok(l.tls!.options.ca);
      },
    },
    {
      name: 'RequireAnyClientCert (old name RequireClientCert): requested, checked after the handshake',
      yaml: tlsYaml('  client_auth_type: RequireClientCert\n'),
      check: (l) => {
        assert.equal(l.tls!.clientAuth, 'RequireAnyClientCert');
        assert.equal(l.tls!.options.requestCert, true);
        assert.equal(l.tls!.options.rejectUnauthorized, false);
      },
    },
    {
      name: 'VerifyClientCertIfGiven',
      yaml: tlsYaml('  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: server.crt\n'),
      check: (l) => assert.equal(l.tls!.clientAuth, 'VerifyClientCertIfGiven'),
    },
    {
      name: 'http2 off lifts the HTTP/2 cipher rule',
      yaml: tlsYaml(
        '  cipher_suites:\n    - TLS_RSA_WITH_AES_128_CBC_SHA\n  max_version: TLS12\nhttp_server_config:\n  http2: false\n',
      ),
      check: (l) => assert.equal(l.tls!.options.maxVersion, 'TLSv1.2'),
    },
  ];
  for (const c of valid)
    test(`valid: ${c.name}`, () => c.check(loadWebConfig(write(`good-${valid.indexOf(c)}.yml`, c.yaml))));

  test('buildTlsSetup reads through the given reader', () => {
    const config = parseWebConfig(tlsYaml(''), path.join(dir, 'x.yml'));
    const read: string[] = [];
    buildTlsSetup(config, (f) => {
      read.push(path.basename(f));
      return execFileSync('cat', [f]);
    });
    assert.deepEqual(read, ['server.crt', 'server.key']);
  });
});

describe('authentication decisions', () => {
  const config = (users: Record<string, string>, tokens: string[] = []): WebConfig => ({
    ...parseWebConfig('', '/x.yml'),
    users: new Map(Object.entries(users)),
    bearerTokens: tokens,
  });
  const table: Array<{
    name: string;
    header: string | undefined;
    users?: Record<string, string>;
    tokens?: string[];
    want: boolean;
  }> = [
    { name: 'no header', header: undefined, users: { alice: HASH }, want: false },
    { name: 'right password', header: basic('alice', 'secret'), users: { alice: HASH }, want: true },
    { name: 'wrong password', header: basic('alice', 'Secret'), users: { alice: HASH }, want: false },
    {
      name: 'unknown user with a known password',
      header: basic('mallory', 'secret'),
      users: { alice: HASH },
      want: false,
    },
    {
      name: 'other user’s password',
      header: basic('bob', 'secret'),
      users: { alice: HASH, bob: HASH_BOB },
      want: false,
    },
    { name: 'second user', header: basic('bob', 'hunter2'), users: { alice: HASH, bob: HASH_BOB }, want: true },
    {
      name: 'scheme in lower case (Go accepts it)',
      header: 'basic ' + Buffer.from('alice:secret').toString('base64'),
      users: { alice: HASH },
      want: true,
    },
    {
      name: 'base64 without padding (Go refuses it)',
      header: 'Basic ' + Buffer.from('alice:secret1').toString('base64').replace(/=+$/, ''),
      users: { alice: HASH },
      want: false,
    },
    {
      name: 'no colon',
      header: 'Basic ' + Buffer.from('alicesecret').toString('base64'),
      users: { alice: HASH },
      want: false,
    },
    {
      name: 'password with a colon',
      header: basic('alice', 'se:cret'),
      users: { alice: bcrypt.hashSync('se:cret', 4) },
      want: true,
    },
    { name: 'empty password', header: basic('alice', ''), users: { alice: bcrypt.hashSync('', 4) }, want: true },
    {
      name: 'UTF-8 password',
      header: basic('zoë', 'pässwörd'),
      users: { zoë: bcrypt.hashSync('pässwörd', 4) },
      want: true,
    },
    {
      name: 'bearer token when only users are configured',
      header: 'Bearer secret',
      users: { alice: HASH },
      want: false,
    },
    { name: 'right bearer token', header: 'Bearer tok-1', tokens: ['tok-0', 'tok-1'], want: true },
    { name: 'bearer scheme in any case', header: 'bearer tok-1', tokens: ['tok-1'], want: true },
    { name: 'wrong bearer token', header: 'Bearer tok-2', tokens: ['tok-0', 'tok-1'], want: false },
    { name: 'token prefix', header: 'Bearer tok', tokens: ['tok-1'], want: false },
    {
      name: 'basic auth when only tokens are configured',
      header: basic('alice', 'secret'),
      tokens: ['tok-1'],
      want: false,
    },
    {
      name: 'either works when both are configured: basic',
      header: basic('alice', 'secret'),
      users: { alice: HASH },
      tokens: ['tok-1'],
      want: true,
    },
    {
      name: 'either works when both are configured: bearer',
      header: 'Bearer tok-1',
      users: { alice: HASH },
      tokens: ['tok-1'],
      want: true,
    },
    { name: 'another scheme', header: 'Digest username="alice"', users: { alice: HASH }, want: false },
  ];
  for (const c of table) {
    test(c.name, async () => {
      const auth = new Authenticator(100, POOL);
      assert.equal(await auth.authorize(c.header, config(c.users ?? {}, c.tokens ?? [])), c.want);
    });
  }

  test('a verified password is cached: the next check is synchronous and runs no bcrypt', async () => {
    const auth = new Authenticator(100, POOL);
    const cfg = config({ alice: HASH });
    const first = auth.authorize(basic('alice', 'secret'), cfg);
    assert.ok(first instanceof Promise);
    assert.equal(await first, true);
    assert.equal(auth.bcryptRuns, 1);
    for (let i = 0; i < 100; i++) assert.equal(auth.authorize(basic('alice', 'secret'), cfg), true);
    assert.equal(auth.bcryptRuns, 1);
    // A wrong password is cached as such, apart from the good ones.
    assert.equal(await auth.authorize(basic('alice', 'nope'), cfg), false);
    assert.equal(auth.authorize(basic('alice', 'nope'), cfg), false);
    assert.equal(auth.bcryptRuns, 2);
  });

  test('the cache key includes the hash: a changed hash is checked again', async () => {
    const auth = new Authenticator(100, POOL);
    assert.equal(await auth.authorize(basic('alice', 'secret'), config({ alice: HASH })), true);
    assert.equal(await auth.authorize(basic('alice', 'secret'), config({ alice: HASH_BOB })), false);
    assert.equal(auth.bcryptRuns, 2);
  });

  test('concurrent identical checks share one bcrypt run', async () => {
    const auth = new Authenticator(100, POOL);
    const cfg = config({ alice: HASH });
    const all = await Promise.all(
      Array.from({ length: 20 }, () => Promise.resolve(auth.authorize(basic('alice', 'secret'), cfg))),
    );
    assert.ok(all.every((v) => v === true));
    assert.equal(auth.bcryptRuns, 1);
  });

  test('wrong passwords cannot evict the good ones', async () => {
    const auth = new Authenticator(4, POOL);
    const cfg = config({ alice: HASH });
    assert.equal(await auth.authorize(basic('alice', 'secret'), cfg), true);
    for (let i = 0; i < 10; i++) assert.equal(await auth.authorize(basic('alice', `wrong${i}`), cfg), false);
    assert.equal(auth.authorize(basic('alice', 'secret'), cfg), true);
  });

  test('an unknown user costs a bcrypt against a fixed hash (no timing oracle), then is cached', async () => {
    const auth = new Authenticator(100, POOL);
    const cfg = config({ alice: HASH });
    // "fakepassword" matches the toolkit's stand-in hash, but the user does not exist.
    assert.equal(await auth.authorize(basic('nobody', 'fakepassword'), cfg), false);
    assert.equal(auth.bcryptRuns, 1);
    assert.equal(auth.authorize(basic('nobody', 'fakepassword'), cfg), false);
    assert.equal(auth.bcryptRuns, 1);
  });

  test('parseBasicAuth and parseBearer', () => {
    assert.deepEqual(parseBasicAuth(basic('a', 'b:c')), { user: 'a', password: 'b:c' });
    assert.deepEqual(parseBasicAuth('BASIC ' + Buffer.from('a:').toString('base64')), { user: 'a', password: '' });
    assert.equal(parseBasicAuth('Basic'), undefined);
    assert.equal(parseBasicAuth('Basic !!!!'), undefined);
    assert.equal(parseBasicAuth('Basic ' + Buffer.from([0x61, 0x3a, 0xff]).toString('base64')), undefined);
    assert.equal(parseBearer('Bearer abc'), 'abc');
    assert.equal(parseBearer('Bearer  abc '), 'abc');
    assert.equal(parseBearer('Bearer a b'), undefined);
    assert.equal(parseBearer('Basic abc'), undefined);
  });
});

describe('webConfigGuard: what clients see', () => {
  let server: Server;
  let base: string;
  const source: { file: string; current: LoadedWebConfig; error: string | undefined } = {
    file: '/x.yml',
    current: { config: parseWebConfig('', '/x.yml'), tls: null, fingerprint: '' },
    error: undefined,
  };
  const use = (yaml: string) => {
    source.current = { config: parseWebConfig(yaml, '/x.yml'), tls: null, fingerprint: '' };
    source.error = undefined;
  };
  const inner: RequestListener = (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end('inner');
  };
  before(async () => {
    server = createServer(webConfigGuard(source as WebConfigSource)(inner));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  const get = async (headers: Record<string, string | undefined> = {}, p = '/-/ready', method = 'GET') => {
    const res = await fetch(base + p, {
      headers: Object.fromEntries(Object.entries(headers).filter((e): e is [string, string] => e[1] !== undefined)),
      method,
    });
    return { status: res.status, body: await res.text(), headers: res.headers };
  };

  test('no users, no tokens: everything passes, headers added', async () => {
    use('http_server_config:\n  headers:\n    X-Frame-Options: sameorigin\n');
    const r = await get();
    assert.equal(r.status, 200);
    assert.equal(r.body, 'inner');
    assert.equal(r.headers.get('x-frame-options'), 'sameorigin');
  });

  test("401 as the reference: WWW-Authenticate: Basic, 'Unauthorized\\n', nosniff, configured headers", async () => {
    use(
      `basic_auth_users:\n  alice: ${HASH}\nhttp_server_config:\n  headers:\n    Strict-Transport-Security: max-age=31536000\n`,
    );
    for (const headers of [
      {},
      { Authorization: basic('alice', 'wrong') },
      { Authorization: basic('alice', 'secret').toLowerCase() },
      { Authorization: basic('bob', 'secret') },
      { Authorization: 'Bearer x' },
    ]) {
      const r = await get(headers);
      assert.equal(r.status, 401);
      assert.equal(r.body, 'Unauthorized\n');
      assert.equal(r.headers.get('www-authenticate'), 'Basic');
      assert.equal(r.headers.get('content-type'), 'text/plain; charset=utf-8');
      assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(r.headers.get('strict-transport-security'), 'max-age=31536000');
    }
    const ok = await get({ Authorization: basic('alice', 'secret') });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('strict-transport-security'), 'max-age=31536000');
  });

  test('every path and method is guarded (OPTIONS, unknown paths, pushes)', async () => {
    use(`basic_auth_users:\n  alice: ${HASH}\n`);
    for (const [p, method] of [
      ['/api/v1/status', 'OPTIONS'],
      ['/nothere', 'GET'],
      ['/metrics/job/x', 'PUT'],
      ['/-/quit', 'POST'],
    ]) {
      assert.equal((await get({}, p, method)).status, 401, `${method} ${p}`);
    }
  });

  test('with tokens: both challenges are offered', async () => {
    use(`basic_auth_users:\n  alice: ${HASH}\nbearer_tokens: [t0k]\n`);
    const r = await get();
    assert.equal(r.status, 401);
    assert.equal(r.headers.get('www-authenticate'), 'Basic, Bearer');
    assert.equal((await get({ Authorization: 'Bearer t0k' })).status, 200);
    use('bearer_tokens: [t0k]\n');
    assert.equal((await get()).headers.get('www-authenticate'), 'Bearer');
  });

  test('while the file is invalid: 500 Internal Server Error, as the reference', async () => {
    use(`basic_auth_users:\n  alice: ${HASH}\n`);
    source.error = 'web config file /x.yml: yaml: ...';
    const r = await get({ Authorization: basic('alice', 'secret') });
    assert.equal(r.status, 500);
    assert.equal(r.body, 'Internal Server Error\n');
    source.error = undefined;
  });
});

describe('LiveWebConfig: reload on change', () => {
  const waitFor = async (cond: () => boolean, ms = 3000) => {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  test('a change applies, an invalid file sets the error, a fix clears it; the start refuses an invalid file', async () => {
    const file = write('live.yml', `basic_auth_users:\n  alice: ${HASH}\n`);
    const live = LiveWebConfig.open(file, undefined, { pollMs: 50 });
    try {
      const changes: LoadedWebConfig[] = [];
      live.on('change', (c: LoadedWebConfig) => changes.push(c));
      assert.deepEqual([...live.current.config.users.keys()], ['alice']);
      writeFileSync(file, `basic_auth_users:\n  alice: ${HASH}\n  bob: ${HASH_BOB}\n`);
      await waitFor(() => live.current.config.users.has('bob'));
      assert.equal(changes.length, 1);
      writeFileSync(file, 'basic_auth_users:\n  alice: plain\n');
      await waitFor(() => live.error !== undefined);
      assert.match(live.error!, /hashedSecret too short/);
      assert.ok(live.current.config.users.has('bob'), 'the last valid configuration stays');
      writeFileSync(file, `basic_auth_users:\n  carol: ${HASH}\n`);
      await waitFor(() => live.error === undefined && live.current.config.users.has('carol'));
    } finally {
      live.close();
    }
    writeFileSync(file, 'nope: 1\n');
    assert.throws(() => LiveWebConfig.open(file), WebConfigError);
  });

  test('a certificate change alone is noticed (certificate rotation)', async () => {
    const sub = mkdtempSync(path.join(dir, 'rot-'));
    const crt = path.join(dir, 'server.crt');
    const key = path.join(dir, 'server.key');
    writeFileSync(path.join(sub, 'server.crt'), execFileSync('cat', [crt]));
    writeFileSync(path.join(sub, 'server.key'), execFileSync('cat', [key]));
    const file = path.join(sub, 'web.yml');
    writeFileSync(file, 'tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n');
    const live = LiveWebConfig.open(file, undefined, { pollMs: 50, watch: false });
    try {
      const before = live.current.fingerprint;
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:P-256',
          '-nodes',
          '-keyout',
          'server.key',
          '-out',
          'server.crt',
          '-days',
          '2',
          '-subj',
          '/CN=rotated',
        ],
        { cwd: sub, stdio: 'pipe' },
      );
      await waitFor(() => live.current.fingerprint !== before);
      assert.ok(live.current.tls);
    } finally {
      live.close();
    }
  });
});
