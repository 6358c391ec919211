/** One measured figure or observed outcome; null where the build does not have the feature probed. */
export type Value = number | string | null;

export interface Row {
  label: string;
  value: Value;
}

/** What one probe measured against one gateway, in one run. */
export interface ProbeResult {
  /** the issue's finding number ('1', '2', …) or a name for the extra probes */
  finding: string;
  title: string;
  rows: Row[];
}

export interface RunResult {
  label: string;
  run: number;
  /** the machine's 1-minute load average when the run began and ended (others' work shows here) */
  load: [number, number];
  probes: ProbeResult[];
}

/** Collects rows in order: `add('largest gap (ms)', 12.3)`. */
export class Rows {
  readonly rows: Row[] = [];

  add(label: string, value: Value): this {
    this.rows.push({ label, value: typeof value === 'number' ? round(value) : value });
    return this;
  }

  result(finding: string, title: string): ProbeResult {
    return { finding, title, rows: this.rows };
  }
}

function round(x: number): number {
  const a = Math.abs(x);
  return a >= 100 ? Math.round(x) : a >= 10 ? Math.round(x * 10) / 10 : Math.round(x * 100) / 100;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * One cell over the runs of one side: numbers as "median (min–max)" (one figure when they agree),
 * outcomes as the outcome, or each with how many runs saw it when they differ.
 */
export function cell(values: Value[]): string {
  if (values.length === 0) return '—';
  if (values.every((v) => typeof v === 'number')) {
    const xs = values;
    const lo = Math.min(...xs);
    const hi = Math.max(...xs);
    return lo === hi ? String(lo) : `${round(median(xs))} (${lo}–${hi})`;
  }
  const texts = values.map((v) => (v === null ? 'not supported' : String(v)));
  const counts = new Map<string, number>();
  for (const t of texts) counts.set(t, (counts.get(t) ?? 0) + 1);
  if (counts.size === 1) return texts[0]!;
  return [...counts].map(([t, n]) => `${t} (×${n})`).join('; ');
}

/** A Markdown table per finding: one row per measure, one column per side (its runs aggregated). */
export function markdown(runs: RunResult[], sides: { label: string; commit: string }[]): string {
  const findings: { finding: string; title: string }[] = [];
  for (const r of runs)
    for (const p of r.probes) if (!findings.some((f) => f.finding === p.finding)) findings.push({ finding: p.finding, title: p.title });
  const out: string[] = [];
  for (const f of findings) {
    out.push(`### ${/^\d/.test(f.finding) ? `Finding ${f.finding}: ` : ''}${f.title}`, '');
    out.push(`| measure | ${sides.map((s) => `${s.label} (${s.commit})`).join(' | ')} |`);
    out.push(`|---|${sides.map(() => '---').join('|')}|`);
    const labels: string[] = [];
    for (const r of runs)
      for (const p of r.probes.filter((x) => x.finding === f.finding))
        for (const row of p.rows) if (!labels.includes(row.label)) labels.push(row.label);
    for (const label of labels) {
      const cells = sides.map((s) =>
        cell(
          runs
            .filter((r) => r.label === s.label)
            .flatMap((r) => r.probes.filter((p) => p.finding === f.finding))
            .flatMap((p) => p.rows.filter((row) => row.label === label).map((row) => row.value)),
        ),
      );
      out.push(`| ${label} | ${cells.map((c) => c.replaceAll('|', '\\|')).join(' | ')} |`);
    }
    out.push('');
  }
  return out.join('\n');
}
