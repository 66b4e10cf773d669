import { MemoryStore } from './memory.js';
import { storeContract } from './contract.suite.js';

storeContract('memory', async () => ({
  store: new MemoryStore(),
  fresh: async () => new MemoryStore(),
  cleanup: async () => undefined,
}));
