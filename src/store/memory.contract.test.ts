import { MemoryStore } from './memory.js';
import { storeContract } from './contract.suite.js';

storeContract('memory', async (limits) => ({
  store: new MemoryStore(undefined, undefined, limits),
  fresh: async () => new MemoryStore(),
  cleanup: async () => undefined,
}));
