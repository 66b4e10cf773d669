import { MemoryStore } from './memory.js';
import { storeContract } from './contract.suite.js';

storeContract('memory', async (limits, expiry) => ({
  store: new MemoryStore(undefined, undefined, limits, expiry),
  fresh: async () => new MemoryStore(),
  cleanup: async () => undefined,
}));
