// Test support: one request to a Node request listener, in-process, without a socket (through
// light-my-request, as fastify's inject), its whole answer collected.
import type { RequestListener } from 'node:http';
import type { Readable } from 'node:stream';
import lightMyRequest, { type InjectOptions } from 'light-my-request';

export interface InjectRequest {
  method?: string;
  /** The request target exactly as a client would put it on the wire: not cleaned, not re-escaped. */
  url: string;
  headers?: Record<string, string>;
  /** A stream is read as the listener asks for it, so a test decides when each part arrives. */
  body?: string | Uint8Array | Readable;
  remoteAddress?: string;
}

export interface InjectReply {
  status: number;
  /** Lower-case names; a repeated header's values joined by ', '. */
  headers: Record<string, string>;
  body: Buffer;
  /** The body as UTF-8. */
  text: string;
}

export async function inject(listener: RequestListener, request: InjectRequest): Promise<InjectReply> {
  const { body } = request;
  const target = request.url;
  // light-my-request resolves the URL as a browser would (dot segments removed, some characters
  // escaped); the listener must see the target unchanged, so it is put back on the request.
  const res = await lightMyRequest(
    (req, res) => {
      req.url = target;
      listener(req, res);
    },
    {
      method: (request.method ?? 'GET') as InjectOptions['method'],
      url: '/',
      headers: request.headers ?? {},
      // Anything but a string, Buffer or stream would be sent as JSON.
      payload: body instanceof Uint8Array ? Buffer.from(body.buffer, body.byteOffset, body.length) : body,
      remoteAddress: request.remoteAddress,
    },
  );
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(res.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return { status: res.statusCode, headers, body: res.rawPayload, text: res.payload };
}

/** The response headers tests compare (in-process and the conformance suite); Date, Content-Length and such are not. */
export const RECORDED_HEADERS = [
  'content-type',
  'content-encoding',
  'location',
  'allow',
  'x-content-type-options',
  'access-control-allow-headers',
  'access-control-allow-methods',
  'access-control-allow-origin',
  'access-control-expose-headers',
  'cache-control',
];

/** Status, compared headers and body text of an answer, for one deepEqual against the expected answer. */
export function answer(reply: InjectReply): { status: number; headers: Record<string, string>; body: string } {
  const headers: Record<string, string> = {};
  for (const name of RECORDED_HEADERS) if (reply.headers[name] !== undefined) headers[name] = reply.headers[name];
  return { status: reply.status, headers, body: reply.text };
}
