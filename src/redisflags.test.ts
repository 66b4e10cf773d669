// The --storage.redis.* flags: checked at start, the password never shown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgs, UsageError, type Config } from './config.js';

function config(args: string[]): Config {
  const r = parseArgs(args);
  assert.equal(r.kind, 'run');
  return (r as { config: Config }).config;
}

test('without the flags there is no Redis; with a URL, its password is masked in the flags shown', () => {
  assert.equal(config([]).redis, undefined);
  const c = config(['--storage.redis.url=redis://app:s3cret@redis:6380/2', '--storage.redis.min-replicas-acked=1']);
  assert.deepEqual(c.redis, {
    url: 'redis://app:s3cret@redis:6380/2',
    passwordFile: '',
    sentinels: [],
    masterName: '',
    sentinelPasswordFile: '',
    sentinelTls: false,
    tls: { caCertFile: '', certFile: '', keyFile: '', serverName: '' },
    minReplicasAcked: 1,
  });
  assert.equal(c.flags['storage.redis.url'], 'redis://app:xxxxx@redis:6380/2');
  assert.ok(!JSON.stringify(c.flags).includes('s3cret'));
  assert.equal(config(['--storage.redis.url=rediss://:pw@h:1']).flags['storage.redis.url'], 'rediss://:xxxxx@h:1');
});

test('Redis flags that cannot work are refused with what to do', () => {
  const refused = (args: string[], message: RegExp) =>
    assert.throws(
      () => parseArgs(args),
      (e: unknown) => {
        assert.ok(e instanceof UsageError);
        assert.match(e.message, message);
        return true;
      },
    );
  refused(
    ['--storage.redis.url=redis://h:1', '--persistence.file=/tmp/x'],
    /--persistence\.file cannot be used with Redis/,
  );
  refused(['--storage.redis.url=http://h:1'], /redis:\/\/ or rediss:\/\//);
  refused(['--storage.redis.url=redis:///0'], /not "redis:\/\/\/0"/);
  refused(['--storage.redis.sentinels=a:1'], /needs --storage\.redis\.master-name/);
  refused(['--storage.redis.sentinels=a', '--storage.redis.master-name=m'], /"a" is not host:port/);
  refused(['--storage.redis.password-file=/x'], /needs --storage\.redis\.url/);
  refused(
    ['--storage.redis.url=redis://h:1', '--storage.redis.sentinel-password-file=/x'],
    /sentinel-password-file needs --storage\.redis\.sentinels/,
  );
  refused(['--storage.redis.sentinel-tls'], /--storage\.redis\.sentinel-tls needs --storage\.redis\.url or/);
  refused(
    ['--storage.redis.url=rediss://h:1', '--storage.redis.sentinel-tls'],
    /--storage\.redis\.sentinel-tls needs --storage\.redis\.sentinels/,
  );
  refused(
    ['--storage.redis.url=redis://h:1', '--storage.redis.tls-ca-cert-file=/ca.pem'],
    /--storage\.redis\.tls-ca-cert-file is only used over TLS: needs a rediss:\/\/ --storage\.redis\.url or --storage\.redis\.sentinel-tls/,
  );
  refused(
    ['--storage.redis.sentinels=a:1', '--storage.redis.master-name=m', '--storage.redis.tls-server-name=redis'],
    /tls-server-name is only used over TLS/,
  );
  refused(['--storage.redis.tls-cert-file=/c.pem'], /needs --storage\.redis\.url or --storage\.redis\.sentinels/);
  refused(
    ['--storage.redis.url=rediss://h:1', '--storage.redis.tls-cert-file=/c.pem'],
    /--storage\.redis\.tls-cert-file and --storage\.redis\.tls-key-file go together/,
  );
  refused(
    ['--storage.redis.url=rediss://h:1', '--storage.redis.tls-key-file=/k.pem'],
    /tls-cert-file and --storage\.redis\.tls-key-file go together/,
  );
  assert.deepEqual(
    config([
      '--storage.redis.url=redis://h:1',
      '--storage.redis.sentinels=a:1',
      '--storage.redis.master-name=m',
      '--storage.redis.sentinel-tls',
      '--storage.redis.tls-ca-cert-file=/ca.pem',
      '--storage.redis.tls-cert-file=/c.pem',
      '--storage.redis.tls-key-file=/k.pem',
      '--storage.redis.tls-server-name=redis',
    ]).redis,
    {
      url: 'redis://h:1',
      passwordFile: '',
      sentinels: [{ host: 'a', port: 1 }],
      masterName: 'm',
      sentinelPasswordFile: '',
      sentinelTls: true,
      tls: { caCertFile: '/ca.pem', certFile: '/c.pem', keyFile: '/k.pem', serverName: 'redis' },
      minReplicasAcked: 0,
    },
  );
  assert.deepEqual(
    config(['--storage.redis.sentinels=a:1,[::1]:2', '--storage.redis.master-name=m']).redis?.sentinels,
    [
      { host: 'a', port: 1 },
      { host: '::1', port: 2 },
    ],
  );
});
