// A hand-written SVG line chart: push throughput against the number of stored groups, one line
// per gateway, logarithmic y axis. No dependencies.

export interface Series {
  name: string;
  color: string;
  /** One value per x label; NaN or <= 0 leaves a gap. */
  values: number[];
}

export interface ChartSpec {
  title: string;
  subtitle: string;
  xTitle: string;
  yTitle: string;
  xLabels: string[];
  series: Series[];
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function fmt(v: number): string {
  if (v >= 10_000) return `${(v / 1000).toFixed(0)}k`;
  if (v >= 1000) return `${(v / 1000).toFixed(1)}k`;
  if (v >= 100) return v.toFixed(0);
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

function tickLabel(v: number): string {
  if (v >= 1e6) return `${v / 1e6}M`;
  if (v >= 1e3) return `${v / 1e3}k`;
  return String(v);
}

export function pushChart(spec: ChartSpec): string {
  const W = 720;
  const H = 440;
  const m = { left: 80, right: 150, top: 64, bottom: 64 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const all = spec.series.flatMap((s) => s.values).filter((v) => Number.isFinite(v) && v > 0);
  const min = all.length ? Math.min(...all) : 1;
  let lo = Math.pow(10, Math.floor(Math.log10(min)));
  if (min < lo * 2) lo /= 10; // keep the lowest point off the x axis
  let hi = Math.pow(10, Math.ceil(Math.log10(all.length ? Math.max(...all) : 10)));
  if (hi <= lo) hi = lo * 10;
  const y = (v: number) => m.top + ph - ((Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * ph;
  const n = spec.xLabels.length;
  const x = (i: number) => m.left + (n === 1 ? pw / 2 : (i * pw) / (n - 1));
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${W / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">${esc(spec.title)}</text>`,
    `<text x="${W / 2}" y="44" text-anchor="middle" fill="#555555">${esc(spec.subtitle)}</text>`,
  );
  // Grid: decades (solid) and 2×, 5× (dotted).
  for (let d = lo; d <= hi * 1.0001; d *= 10) {
    parts.push(
      `<line x1="${m.left}" x2="${m.left + pw}" y1="${y(d).toFixed(1)}" y2="${y(d).toFixed(1)}" stroke="#cccccc"/>`,
    );
    parts.push(`<text x="${m.left - 8}" y="${(y(d) + 4).toFixed(1)}" text-anchor="end">${tickLabel(d)}</text>`);
    for (const k of [2, 5]) {
      const v = d * k;
      if (v < hi)
        parts.push(
          `<line x1="${m.left}" x2="${m.left + pw}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#eeeeee" stroke-dasharray="2,3"/>`,
        );
    }
  }
  parts.push(`<line x1="${m.left}" x2="${m.left}" y1="${m.top}" y2="${m.top + ph}" stroke="#333333"/>`);
  parts.push(`<line x1="${m.left}" x2="${m.left + pw}" y1="${m.top + ph}" y2="${m.top + ph}" stroke="#333333"/>`);
  spec.xLabels.forEach((label, i) => {
    parts.push(`<line x1="${x(i)}" x2="${x(i)}" y1="${m.top + ph}" y2="${m.top + ph + 5}" stroke="#333333"/>`);
    parts.push(`<text x="${x(i)}" y="${m.top + ph + 20}" text-anchor="middle">${esc(label)}</text>`);
  });
  parts.push(
    `<text x="${m.left + pw / 2}" y="${H - 16}" text-anchor="middle" fill="#333333">${esc(spec.xTitle)}</text>`,
  );
  parts.push(
    `<text x="20" y="${m.top + ph / 2}" text-anchor="middle" fill="#333333" transform="rotate(-90 20 ${m.top + ph / 2})">${esc(spec.yTitle)}</text>`,
  );
  spec.series.forEach((s, si) => {
    const pts = s.values.map((v, i) => (Number.isFinite(v) && v > 0 ? { x: x(i), y: y(v), v } : null));
    // Line segments between consecutive present points.
    let d = '';
    let pen = false;
    for (const p of pts) {
      if (p === null) {
        pen = false;
        continue;
      }
      d += `${pen ? 'L' : 'M'}${p.x.toFixed(1)},${p.y.toFixed(1)} `;
      pen = true;
    }
    if (d) parts.push(`<path d="${d.trim()}" fill="none" stroke="${s.color}" stroke-width="2.5"/>`);
    for (const p of pts) {
      if (p === null) continue;
      parts.push(`<circle cx="${p.x.toFixed(1)}" cy="${p.y.toFixed(1)}" r="4.5" fill="${s.color}"/>`);
      // First series labelled above its points, the others below unless that reaches the axis.
      const dy = si === 0 || p.y + 18 > m.top + ph - 4 ? -10 : 18;
      parts.push(
        `<text x="${(p.x + 6).toFixed(1)}" y="${(p.y + dy).toFixed(1)}" fill="${s.color}" font-weight="bold">${fmt(p.v)}</text>`,
      );
    }
    const ly = m.top + 10 + si * 22;
    parts.push(
      `<line x1="${m.left + pw + 20}" x2="${m.left + pw + 44}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2.5"/>`,
    );
    parts.push(`<circle cx="${m.left + pw + 32}" cy="${ly}" r="4.5" fill="${s.color}"/>`);
    parts.push(`<text x="${m.left + pw + 52}" y="${ly + 4}">${esc(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
