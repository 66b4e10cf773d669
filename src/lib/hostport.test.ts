import { test } from 'node:test';
import assert from 'node:assert/strict';
import { joinHostPort } from './hostport.js';

test('joinHostPort: IPv6 in brackets, as Go prints listen and remote addresses', () => {
  assert.equal(joinHostPort('::', 9091), '[::]:9091');
  assert.equal(joinHostPort('::ffff:127.0.0.1', 5), '[::ffff:127.0.0.1]:5');
  assert.equal(joinHostPort('127.0.0.1', 9091), '127.0.0.1:9091');
  assert.equal(joinHostPort(undefined, undefined), ':');
});
