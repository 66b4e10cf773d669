import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { decodeContent } from './body.js';
import { HttpError } from './errors.js';
import { encodeSnappyFramed } from './snappy.js';

const body = Buffer.from('x 1\n'.repeat(1000));

test('bodies decode by their Content-Encoding', () => {
  assert.deepEqual(decodeContent(undefined, body, 10), body);
  assert.deepEqual(decodeContent('GZIP', gzipSync(body), 1 << 20), body);
  assert.deepEqual(decodeContent('snappy', encodeSnappyFramed(body), 1 << 20), body);
});

const tooBig = /^decompressed request body exceeds the limit of 100 bytes/;
const refused: Array<[string, string, Buffer, number, number, string | RegExp]> = [
  ['gzip, too short for its header', 'gzip', Buffer.from('abc'), 1 << 20, 400, 'unexpected EOF'],
  ['gzip, not gzip', 'gzip', Buffer.from('definitely not gzip'), 1 << 20, 400, 'gzip: invalid header'],
  ['gzip, bigger than the limit once inflated', 'gzip', gzipSync(body), 100, 413, tooBig],
  ['snappy, corrupt', 'snappy', Buffer.from('definitely not snappy'), 1 << 20, 400, 'snappy: corrupt input'],
  ['snappy, bigger than the limit', 'snappy', encodeSnappyFramed(body), 100, 413, tooBig],
];
for (const [name, encoding, raw, max, status, message] of refused) {
  test(`a body is refused with an HttpError: ${name}`, () => {
    assert.throws(
      () => decodeContent(encoding, raw, max),
      (e: unknown) => {
        assert.ok(e instanceof HttpError);
        assert.equal(e.status, status);
        if (typeof message === 'string') assert.equal(e.message, message);
        else assert.match(e.message, message);
        return true;
      },
    );
  });
}
