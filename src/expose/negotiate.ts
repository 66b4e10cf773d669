// Scrape format negotiation as the reference (client_golang's expfmt.Negotiate) does it: the
// Accept header's media ranges by descending q; delimited protobuf or text 0.0.4; text otherwise.

export type ScrapeFormat = 'text' | 'protobuf';

interface MediaRange {
  type: string;
  params: Map<string, string>;
  q: number;
  order: number;
}

function parseAccept(header: string): MediaRange[] {
  const out: MediaRange[] = [];
  header.split(',').forEach((part, order) => {
    const [type, ...rest] = part.split(';').map((s) => s.trim());
    if (type === '') return;
    const params = new Map<string, string>();
    let q = 1;
    for (const p of rest) {
      const eq = p.indexOf('=');
      if (eq < 0) continue;
      const k = p.slice(0, eq).trim().toLowerCase();
      const v = p.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
      if (k === 'q') q = Number(v);
      else params.set(k, v);
    }
    if (Number.isFinite(q) && q > 0) out.push({ type: type.toLowerCase(), params, q, order });
  });
  return out.sort((a, b) => b.q - a.q || a.order - b.order);
}

export function negotiate(accept: string | undefined): ScrapeFormat {
  for (const r of parseAccept(accept ?? '')) {
    if (r.type === 'application/vnd.google.protobuf' && r.params.get('proto') === 'io.prometheus.client.MetricFamily') {
      if (r.params.get('encoding') === 'delimited') return 'protobuf';
    }
    if (r.type === 'text/plain') {
      const version = r.params.get('version');
      if (version === undefined || version === '0.0.4') return 'text';
    }
  }
  return 'text';
}
