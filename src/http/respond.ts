// Response helpers speaking as Go's net/http does, so clients see the reference's bytes.
import type { ServerResponse } from 'node:http';

/** Go's http.Error: the message and a newline, as plain text. Returns the status. */
export function sendError(res: ServerResponse, status: number, message: string): number {
  const body = message + '\n';
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'X-Content-Type-Options': 'nosniff',
    'Content-Length': String(Buffer.byteLength(body)),
  });
  res.end(body);
  return status;
}

/** A plain body, typed as Go's content sniffing would type it. Returns the status. */
export function sendText(
  res: ServerResponse,
  status: number,
  body: string,
  contentType = 'text/plain; charset=utf-8',
): number {
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': String(Buffer.byteLength(body)) });
  res.end(body);
  return status;
}
