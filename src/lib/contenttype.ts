// The exposition formats' content types, as expfmt names them, and the check of a push's
// Content-Type for delimited protobuf.

export const TEXT_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export const PROTOBUF_MEDIA_TYPE = 'application/vnd.google.protobuf';
/** The `proto` parameter of the protobuf content type: the message a body is a stream of. */
export const PROTOBUF_MESSAGE = 'io.prometheus.client.MetricFamily';
export const PROTOBUF_CONTENT_TYPE = `${PROTOBUF_MEDIA_TYPE}; proto=${PROTOBUF_MESSAGE}; encoding=delimited`;

export const OPENMETRICS_MEDIA_TYPE = 'application/openmetrics-text';
export const OPENMETRICS_CONTENT_TYPE = `${OPENMETRICS_MEDIA_TYPE}; version=1.0.0; charset=utf-8`;
/** What expfmt answers to a request for OpenMetrics 0.0.1 or for OpenMetrics without a version. */
export const OPENMETRICS_0_0_1_CONTENT_TYPE = `${OPENMETRICS_MEDIA_TYPE}; version=0.0.1; charset=utf-8`;

/** Whether a push's Content-Type is delimited protobuf: names compared case-insensitively, values maybe quoted. */
export function isProtobuf(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const [media, ...params] = contentType.split(';').map((s) => s.trim());
  if (media.toLowerCase() !== PROTOBUF_MEDIA_TYPE) return false;
  const p = new Map(
    params.map((kv) => {
      const eq = kv.indexOf('=');
      return [
        kv.slice(0, eq).trim().toLowerCase(),
        kv
          .slice(eq + 1)
          .trim()
          .replace(/^"(.*)"$/, '$1'),
      ] as const;
    }),
  );
  return p.get('encoding') === 'delimited' && p.get('proto') === PROTOBUF_MESSAGE;
}
