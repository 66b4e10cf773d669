// A web configuration fixed for a test, as the live source of a file would hold it.
import { parseWebConfig, type WebConfigSource } from '../http/webconfig.js';

export function fixedWebConfig(yaml: string, file = '/x.yml'): WebConfigSource {
  return { file, current: { config: parseWebConfig(yaml, file), tls: null, fingerprint: '' }, error: undefined };
}
