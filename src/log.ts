// Logs through pino, written as logfmt (the reference's default) or JSON.
import { pino, type Logger } from 'pino';
import { Writable } from 'node:stream';

function logfmtValue(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return /^[^\s"=]+$/.test(s) ? s : JSON.stringify(s);
}

/** Turns pino's JSON lines into logfmt lines: ts=… level=… msg=… key=value… */
function logfmtStream(out: NodeJS.WritableStream): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      let text = '';
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line === '') continue;
        const rec = JSON.parse(line) as Record<string, unknown>;
        text +=
          Object.entries(rec)
            .map(([k, v]) => `${k}=${logfmtValue(v)}`)
            .join(' ') + '\n';
      }
      out.write(text, () => done());
    },
  });
}

export function createLogger(
  level: string,
  format: 'logfmt' | 'json',
  out: NodeJS.WritableStream = process.stderr,
): Logger {
  const options = {
    level,
    base: null,
    messageKey: 'msg',
    timestamp: () => `,"ts":"${new Date().toISOString()}"`,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  return pino(options, format === 'json' ? (out as Writable) : logfmtStream(out));
}
