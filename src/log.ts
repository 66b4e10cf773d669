// Logs through pino, written as go-kit writes the reference's lines: logfmt (its default) with
// `ts`, `level` and `msg` first and the other keys in the order given, or JSON with its keys
// sorted (go-kit encodes a Go map). The reference's `caller=file.go:line` is left out: ours would
// name other files, and finding the caller costs a stack trace per line.
import { pino, type Logger } from 'pino';
import { Writable } from 'node:stream';

/** A logfmt value: bare unless empty of meaning to a parser (space, `=`, `"`, control characters). */
function logfmtValue(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return /[\s"=\x00-\x1f\x7f]/.test(s) ? JSON.stringify(s) : s;
}

const FIRST = ['ts', 'level', 'msg'];

export function formatLogfmt(rec: Record<string, unknown>): string {
  const keys = [...FIRST.filter((k) => k in rec), ...Object.keys(rec).filter((k) => !FIRST.includes(k))];
  return keys.map((k) => `${k}=${logfmtValue(rec[k])}`).join(' ');
}

export function formatJson(rec: Record<string, unknown>): string {
  return JSON.stringify(Object.fromEntries(Object.entries(rec).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
}

/** Rewrites pino's JSON lines with `format`. */
function rewriteStream(out: NodeJS.WritableStream, format: (rec: Record<string, unknown>) => string): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      let text = '';
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line !== '') text += format(JSON.parse(line) as Record<string, unknown>) + '\n';
      }
      // Not waiting for the write's callback: lines logged just before process.exit() would wait
      // behind it and be lost (stderr itself writes synchronously to files and pipes).
      out.write(text);
      done();
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
  return pino(options, rewriteStream(out, format === 'json' ? formatJson : formatLogfmt));
}
