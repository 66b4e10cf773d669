import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bucketBound, nativeHistogramJson } from './nativehistogram.js';

test('bounds follow Prometheus (schema 0 doubles, negative schemas square, schema 3 the 2^(1/8) table)', () => {
  assert.equal(bucketBound(0, 0), 1);
  assert.equal(bucketBound(-1, 0), 0.5);
  assert.equal(bucketBound(3, 0), 8);
  assert.equal(bucketBound(1, -1), 4);
  // Prometheus' table, not the nearest double (1.4142135623730951): upstream prints these.
  assert.equal(bucketBound(1, 1), 1.414213562373095);
  assert.equal(bucketBound(-1, 1), 0.7071067811865475);
  assert.equal(bucketBound(-255, 8), 0.5013556375251013);
  assert.equal(bucketBound(-1, 8), 0.9972960560854698);
  assert.equal(bucketBound(-2, 8), 0.9945994234836328);
  assert.equal(bucketBound(-62, 8), 0.8454623996346523);
  assert.equal(bucketBound(-38, 8), 0.9022270839033115);
  assert.equal(bucketBound(-1, 2), 0.8408964152537144);
  // Prometheus' exponentialBounds[3][1] and [3][5]
  assert.equal(bucketBound(1, 3), 2 * 0.5452538663326288);
  assert.equal(bucketBound(5, 3), 2 * 0.7711054127039704);
  assert.equal(bucketBound(1024, 0), Number.MAX_VALUE);
  assert.equal(bucketBound(1025, 0), Infinity);
});

test('integer histogram: negative (reversed), zero, positive buckets; empty ones left out', () => {
  const json = nativeHistogramJson({
    sampleCount: 7,
    sampleSum: 3,
    buckets: [],
    schema: 0,
    zeroThreshold: 0.001,
    zeroCount: 1,
    negativeSpans: [{ offset: 0, length: 2 }],
    negativeDeltas: [1, 1],
    positiveSpans: [
      { offset: 0, length: 1 },
      { offset: 2, length: 2 },
    ],
    positiveDeltas: [2, -2, 1],
  });
  assert.deepEqual(json, {
    count: '7',
    buckets: [
      [1, '-2', '-1', '2'],
      [1, '-1', '-0.5', '1'],
      [3, '-0.001', '0.001', '1'],
      [0, '0.5', '1', '2'],
      [0, '8', '16', '1'],
    ],
  });
});

test('float histogram uses float counts', () => {
  const json = nativeHistogramJson({
    sampleCount: 0,
    sampleCountFloat: 2.5,
    sampleSum: 1,
    buckets: [],
    schema: 1,
    positiveSpans: [{ offset: 1, length: 1 }],
    positiveCounts: [2.5],
  });
  assert.deepEqual(json, { count: '2.5', buckets: [[0, '1', '1.414213562373095', '2.5']] });
});
