// The conformance suite against ours on Redis (--storage.redis.url, docs/replicas.md): the same
// cases and transcripts as on the embedded store (suite.ts). One fresh redis-server on a free
// port with its own directory; each group of cases gets its own database on it, so no gateway
// sees another's state. CONFORMANCE_CASES=<regexp> runs only the matching cases.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createClient } from '@redis/client';
import { OURS_MAIN } from '../support/servers.js';
import { REDIS_BIN, startRedis, type RunningRedis } from '../support/redis.js';
import { suite } from './suite.js';
import { cases } from './cases.js';
import { groupCases, selectedCases } from './run.js';

let redis: Promise<RunningRedis> | undefined;
after(async () => {
  await (await redis)?.cleanup();
});

describe('conformance of ours on Redis (golden files)', () => {
  if (!existsSync(OURS_MAIN) || !existsSync(REDIS_BIN)) {
    it('ours is built and redis-server installed', () => {
      throw new Error(`${OURS_MAIN} or ${REDIS_BIN} does not exist: build, and install redis-server`);
    });
    return;
  }
  suite({
    kind: 'ours',
    name: 'ours-on-redis',
    extraFlags: async (index) => {
      redis ??= startRedis({ extra: ['--databases', '64'] });
      return [`--storage.redis.url=${(await redis).url}/${index}`];
    },
  });
  it('kept every group of cases in its own Redis database', async () => {
    const c = createClient({ url: (await redis!).url });
    await c.connect();
    const keyspace = await c.info('keyspace');
    c.destroy();
    const used = keyspace.split('\n').filter((l) => /^db\d+:keys=[1-9]/.test(l)).length;
    assert.equal(used, groupCases(selectedCases(cases)).length, keyspace);
  });
});
