// Tables (console and Markdown), the problems list, and the generated part of docs/performance.md.
import { existsSync, readFileSync } from 'node:fs';
import type { Kind } from './gateways.js';
import type { MachineInfo } from './machine.js';
import { median, type BenchOutput, type MetricDef, type ScenarioResult } from './scenarios.js';

export interface Row {
  scenario: string;
  title: string;
  metric: string;
  unit: string;
  better: MetricDef['better'];
  ours: number;
  reference: number;
  ratio: number;
  /** Rounds behind each median. */
  n: Record<Kind, number>;
  flags: string;
  /** Set when the "reference" column holds another server (the bare node:http baseline). */
  against?: string;
}

function fmtValue(v: number, unit: string): string {
  if (!Number.isFinite(v)) return 'n/a';
  if (unit === 'ms' || unit === 's') return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
  if (unit === 'KiB' || unit === 'MiB') return v >= 100 ? v.toFixed(0) : v.toFixed(1);
  if (v >= 100) return Math.round(v).toLocaleString('en-US');
  return v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

function fmtRatio(r: number): string {
  if (!Number.isFinite(r)) return 'n/a';
  if (r >= 100) return `${r.toFixed(0)}×`;
  if (r >= 10) return `${r.toFixed(1)}×`;
  if (r >= 0.1) return `${r.toFixed(2)}×`;
  return `${r.toPrecision(2)}×`;
}

/** Median CPU (cores) other processes (or, `key`, the gateway not measured) used during a scenario's kept windows. */
function scenarioOtherCores(s: ScenarioResult, key = 'otherCores'): Record<Kind, number> {
  const med = (k: Kind) => median(s.rounds[k].map((r) => r.values[key]).filter((x): x is number => Number.isFinite(x)));
  return { ours: med('ours'), reference: med('reference') };
}

const BUSY_CORES = 0.25;

export function busyNotes(scenarios: ScenarioResult[]): string[] {
  const out: string[] = [];
  for (const s of scenarios) {
    const o = scenarioOtherCores(s);
    if (o.ours >= BUSY_CORES || o.reference >= BUSY_CORES) {
      out.push(
        `${s.id}: other processes on the machine used a median of ${o.ours.toFixed(2)} cores during ours' windows and ${o.reference.toFixed(2)} during the reference's, ` +
          'out of 2; both gateways are slowed by that, so take the absolute numbers as lower bounds.',
      );
    }
    const idle = scenarioOtherCores(s, 'idleGatewayCores');
    if (idle.ours >= BUSY_CORES || idle.reference >= BUSY_CORES) {
      out.push(
        `${s.id}: the gateway not measured kept working on its own earlier windows: a median of ` +
          `${idle.ours.toFixed(2)} cores (the reference) during ours' windows, ${idle.reference.toFixed(2)} (ours) during the reference's.`,
      );
    }
  }
  return out;
}

export function rows(scenarios: ScenarioResult[]): Row[] {
  const out: Row[] = [];
  for (const s of scenarios) {
    const bad = (k: Kind) =>
      s.rounds[k].some((r) => r.non2xx > 0 || r.failure !== undefined) || s.skipped[k] !== undefined;
    const oc = scenarioOtherCores(s);
    const busy = oc.ours >= BUSY_CORES || oc.reference >= BUSY_CORES;
    const flags = [bad('ours') ? 'ours!' : '', bad('reference') ? 'ref!' : '', busy ? 'busy' : '']
      .filter(Boolean)
      .join(' ');
    for (const m of s.metrics) {
      const o = s.median.ours[m.key];
      const r = s.median.reference[m.key];
      out.push({
        scenario: s.id,
        title: s.title,
        metric: m.label,
        unit: m.unit,
        better: m.better,
        ours: o,
        reference: r,
        ratio: Number.isFinite(o) && Number.isFinite(r) && r !== 0 ? o / r : NaN,
        n: {
          ours: s.rounds.ours.filter((x) => !x.failure).length,
          reference: s.rounds.reference.filter((x) => !x.failure).length,
        },
        flags,
      });
    }
    const b = s.baseline;
    if (b === undefined) continue;
    for (const m of s.metrics.filter((x) => x.better !== 'none')) {
      const o = s.median.ours[m.key];
      const r = b.median[m.key];
      out.push({
        scenario: s.id,
        title: s.title,
        metric: m.label,
        unit: m.unit,
        better: m.better,
        ours: o,
        reference: r,
        ratio: Number.isFinite(o) && Number.isFinite(r) && r !== 0 ? o / r : NaN,
        n: {
          ours: s.rounds.ours.filter((x) => !x.failure).length,
          reference: b.rounds.filter((x) => !x.failure).length,
        },
        flags,
        against: b.label,
      });
    }
  }
  return out;
}

function refCell(r: Row): string {
  return fmtValue(r.reference, r.unit) + (r.against ? ` (${r.against})` : '');
}

function metricLabel(r: Row): string {
  const unit = r.unit && r.unit !== '/s' ? ` (${r.unit})` : '';
  const hint = r.better === 'higher' ? ' ↑' : r.better === 'lower' ? ' ↓' : '';
  return `${r.metric}${unit}${hint}`;
}

export function consoleTable(rs: Row[]): string {
  const head = ['scenario', 'metric', 'ours', 'reference', 'ours/ref', ''];
  const body = rs.map((r) => [
    r.title,
    metricLabel(r),
    fmtValue(r.ours, r.unit),
    refCell(r),
    fmtRatio(r.ratio),
    r.flags,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i >= 2 && i <= 4 ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  const out = [line(head), widths.map((w) => '-'.repeat(w)).join('  ')];
  let last = '';
  for (let i = 0; i < rs.length; i++) {
    const cells = body[i].slice();
    if (rs[i].title === last) cells[0] = '';
    last = rs[i].title;
    out.push(line(cells));
  }
  return out.join('\n');
}

export function markdownTable(rs: Row[]): string {
  const out = ['| Scenario | Metric | Ours | Reference | Ours / ref |', '|---|---|--:|--:|--:|'];
  let last = '';
  for (const r of rs) {
    const flagText = r.flags
      .split(' ')
      .filter(Boolean)
      .map((f) =>
        f === 'busy' ? 'busy machine, see notes' : f === 'ours!' ? 'ours had problems' : 'reference had problems',
      )
      .join('; ');
    const title = r.title === last ? '' : r.title + (flagText ? ` (${flagText})` : '');
    last = r.title;
    out.push(`| ${title} | ${metricLabel(r)} | ${fmtValue(r.ours, r.unit)} | ${refCell(r)} | ${fmtRatio(r.ratio)} |`);
  }
  return out.join('\n');
}

/** Everything that looked wrong: non-2xx answers, errors, failed windows, skipped or capped measurements. */
export function problems(out: BenchOutput): string[] {
  const list: string[] = [];
  for (const s of out.scenarios) {
    for (const k of ['ours', 'reference'] as Kind[]) {
      const rounds = s.rounds[k];
      const non2xx = rounds.reduce((a, r) => a + r.non2xx, 0);
      const total = rounds.reduce((a, r) => a + (r.values.requests ?? 0), 0);
      if (non2xx > 0) {
        const statuses: Record<string, number> = {};
        for (const r of rounds)
          for (const [c, n] of Object.entries(r.statuses)) if (!/ 2\d\d$/.test(c)) statuses[c] = (statuses[c] ?? 0) + n;
        const errors: Record<string, number> = {};
        for (const r of rounds) for (const [c, n] of Object.entries(r.errors)) errors[c] = (errors[c] ?? 0) + n;
        const samples = rounds.flatMap((r) => r.samples).slice(0, 2);
        list.push(
          `${s.id}, ${k}: ${non2xx} of ${total || '?'} requests not answered with 2xx — ${JSON.stringify(statuses)}` +
            (Object.keys(errors).length ? ` errors ${JSON.stringify(errors)}` : '') +
            (samples.length
              ? `; e.g. ${samples.map((x) => `\`${x.replace(/\s+/g, ' ').slice(0, 200)}\``).join(', ')}`
              : ''),
        );
      }
      for (const r of rounds) if (r.failure) list.push(`${s.id}, ${k}, round ${r.round + 1}: failed — ${r.failure}`);
      if (s.skipped[k]) list.push(`${s.id}, ${k}: ${s.skipped[k]}`);
    }
  }
  for (const p of out.preloads) {
    if (p.groupsVerified !== undefined && p.groupsVerified !== p.result.loaded) {
      list.push(
        `preload ${p.state}, ${p.kind}: ${p.result.loaded} pushes answered 2xx but /metrics shows ${p.groupsVerified} groups`,
      );
    }
  }
  list.push(...out.notes);
  return list;
}

/** CPU used by processes other than the measured server and the load generator, over all windows. */
export function otherCpu(out: BenchOutput): { median: number; max: number; windows: number; busyWindows: number } {
  const xs = out.scenarios
    .flatMap((s) => [...s.rounds.ours, ...s.rounds.reference])
    .map((r) => r.values.otherCores)
    .filter((x): x is number => Number.isFinite(x))
    .sort((a, b) => a - b);
  const median = xs.length ? xs[xs.length >> 1] : NaN;
  return {
    median,
    max: xs.length ? xs[xs.length - 1] : NaN,
    windows: xs.length,
    busyWindows: xs.filter((x) => x >= 0.25).length,
  };
}

const BEGIN = '<!-- BEGIN GENERATED: written by `npm run bench`; edits between these markers are overwritten -->';
const END = '<!-- END GENERATED -->';

export function generatedSection(opts: {
  when: string;
  machine: MachineInfo;
  roundsText: string;
  totalSeconds: number;
  loadAvg: { start: number; end: number };
  table: string;
  out: BenchOutput;
  chartFile: string;
  /** Set when the results were merged from several runs: one line per run. */
  runs?: string[];
}): string {
  const { machine: mi, out } = opts;
  const lines: string[] = [BEGIN, ''];
  lines.push(`### Latest results`, '');
  const merged = opts.runs !== undefined && opts.runs.length > 1;
  if (merged) {
    lines.push(
      `Medians of alternating rounds, from ${opts.runs!.length} runs on the same machine (the figures of one scenario always come from one run), ` +
        `on ${mi.node}; reference: \`${mi.reference}\`. Each run, its commit of ours, length and 1-minute load average, and its scenarios:`,
      '',
    );
    for (const r of opts.runs!) lines.push(`- ${r}`);
    lines.push('');
  } else {
    lines.push(
      `Run ${opts.when}, ${opts.roundsText} (median shown), ${(opts.totalSeconds / 60).toFixed(1)} min in all. ` +
        `Ours at commit \`${mi.oursCommit}\`${mi.oursSrcDirty ? ' with uncommitted changes in `src/` (other work in progress)' : ''}, ` +
        `on ${mi.node}; reference: \`${mi.reference}\`.`,
      '',
    );
  }
  lines.push(
    `Machine: ${mi.nproc} CPUs (\`nproc\`), ${mi.cpuModel}, ${mi.memTotalGiB.toFixed(1)} GiB memory, ${mi.os}, Linux ${mi.kernel}. ` +
      'The load generator (a separate Node process) shares these CPUs with the server under test.',
    '',
  );
  const oc = otherCpu(out);
  if (oc.windows > 0) {
    lines.push(
      `Other activity on the machine during the measurement windows (CPU used by anything but the measured server and the load generator): ` +
        `median ${oc.median.toFixed(2)} cores, max ${oc.max.toFixed(2)}; ${oc.busyWindows} of ${oc.windows} windows had ≥ 0.25 cores of it. ` +
        (merged
          ? ''
          : `1-minute load average ${opts.loadAvg.start.toFixed(2)} at the start, ${opts.loadAvg.end.toFixed(2)} at the end. `) +
        `${out.scenarios.reduce((a, s) => a + s.discarded.length, 0)} windows during which other processes used ≥ 0.5 cores were measured again and the quieter kept. ` +
        `Per-window figures (server, load generator and other CPU) are in ${merged ? "each run's results file" : '`bench/results.json`'}.`,
      '',
    );
  }
  lines.push(opts.table, '');
  lines.push('↑ higher is better, ↓ lower is better. "Ours / ref" is the ratio of the medians.', '');
  lines.push(`![Push throughput against stored groups](${opts.chartFile})`, '');
  const probs = problems(out);
  lines.push('#### Problems seen in this run', '');
  if (probs.length === 0) lines.push('None: every request of every measured window was answered with 2xx.');
  else for (const p of probs) lines.push(`- ${p}`);
  lines.push('');
  const notes = [...busyNotes(out.scenarios), ...out.scenarios.flatMap((s) => s.notes.map((n) => `${s.id}: ${n}`))];
  if (notes.length) {
    lines.push('#### Notes on scenarios', '');
    for (const n of [...new Set(notes)]) lines.push(`- ${n}`);
    lines.push('');
  }
  lines.push('#### Loading the stores', '');
  lines.push('| Store | Gateway | Groups loaded | Time (s) | How |', '|---|---|--:|--:|---|');
  for (const p of out.preloads) {
    lines.push(
      `| ${p.state} | ${p.kind} | ${p.result.loaded} / ${p.result.target}${p.groupsVerified !== undefined ? ` (${p.groupsVerified} in /metrics)` : ''} | ${p.result.seconds.toFixed(1)} | ${p.how} |`,
    );
  }
  lines.push('', END);
  return lines.join('\n');
}

/** Replaces the generated part of the doc, keeping everything outside the markers. */
export function mergeDoc(file: string, generated: string, template: (generated: string) => string): string {
  if (!existsSync(file)) return template(generated);
  const doc = readFileSync(file, 'utf8');
  const a = doc.indexOf(BEGIN);
  const b = doc.indexOf(END);
  if (a < 0 || b < a) return doc.trimEnd() + '\n\n' + generated + '\n';
  return doc.slice(0, a) + generated + doc.slice(b + END.length);
}
