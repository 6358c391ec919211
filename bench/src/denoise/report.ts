import { disturbed, type CallResult, type Mode, type ModeRun } from './gateway.js';
import type { Noise } from './mixtures.js';

/** One table cell: a noise and an input SNR ("none" has no SNR). */
export function cellKey(noise: Noise, snrDb: number): string {
  return noise === 'none' ? 'none' : `${noise}@${snrDb}`;
}

export function median(xs: number[]): number {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The acceptance margin: auto may trail the better fixed mode by this much, dB. */
export const AUTO_MARGIN_DB = 0.5;

const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '—');
const sgn = (x: number) => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${x.toFixed(1)}` : '—');

export interface Cell {
  key: string;
  noise: Noise;
  snrDb: number;
  /** per mode, medians over the cell's calls */
  by: Partial<
    Record<Mode, { cut: number; sdr: number; seg: number; gain: number; on: number; n: number; snrEst: number; decidedAt: number }>
  >;
  /** auto − max(on, off) SI-SDR, dB */
  autoGap: number;
  autoOk: boolean | null;
}

export function cells(results: CallResult[]): Cell[] {
  const keys = [...new Set(results.map((r) => cellKey(r.noise, r.snrDb)))];
  return keys.map((key) => {
    const rs = results.filter((r) => cellKey(r.noise, r.snrDb) === key);
    const by: Cell['by'] = {};
    // A call that lost frames (DSP_OVERLOAD) is misaligned after the loss, and one whose frames
    // bypassed RNNoise (shed under overload) was not denoised as asked: both measure the
    // machine's load, not the suppressor, so they stay out of the quality figures. Paired: a
    // voice counts only where every mode heard it undisturbed, so that the modes' medians are over
    // the same mixtures (voices differ by several dB: medians over different subsets do not compare).
    const modes = new Set(rs.map((r) => r.mode));
    const heard = (sp: string, mode: Mode) => rs.some((r) => r.mode === mode && r.speech === sp && !disturbed(r));
    const paired = new Set(rs.map((r) => r.speech).filter((sp) => [...modes].every((mode) => heard(sp, mode))));
    for (const mode of ['off', 'on', 'auto'] as const) {
      const m = rs.filter((r) => r.mode === mode && paired.has(r.speech) && !disturbed(r));
      if (m.length === 0) continue;
      by[mode] = {
        cut: median(m.map((r) => r.q.noiseCutDb)),
        sdr: median(m.map((r) => r.q.siSdrDb)),
        seg: median(m.map((r) => r.q.segSnrDb)),
        gain: median(m.map((r) => r.q.speechGainDb)),
        on: m.filter((r) => r.choice === 'on' || r.choice === 'true' || r.choice === 'rnnoise').length,
        n: m.length,
        snrEst: median(m.map((r) => r.snrEstimateDb ?? NaN)),
        decidedAt: median(m.map((r) => r.decidedAtMs ?? NaN)),
      };
    }
    const better = Math.max(by.on?.sdr ?? -Infinity, by.off?.sdr ?? -Infinity);
    const autoGap = by.auto === undefined ? NaN : by.auto.sdr - better;
    return {
      key,
      noise: rs[0]!.noise,
      snrDb: rs[0]!.snrDb,
      by,
      autoGap,
      autoOk: Number.isNaN(autoGap) ? null : autoGap >= -AUTO_MARGIN_DB,
    };
  });
}

function triple(c: Cell, k: 'cut' | 'sdr' | 'seg' | 'gain', f: (x: number) => string): string {
  return (['off', 'on', 'auto'] as const).map((m) => (c.by[m] === undefined ? '—' : f(c.by[m][k]))).join(' / ');
}

/** The table, with auto and its acceptance check; then segmental SNR, level and auto's choice. */
export function gatewayTables(results: CallResult[], runs: ModeRun[]): string {
  const cs = cells(results);
  const autoRun = runs.find((r) => r.mode === 'auto');
  const autoNote =
    autoRun !== undefined && !autoRun.supported ? `\n\nauto not supported by this gateway (${autoRun.refusal ?? 'refused'}).` : '';
  const t1 = [
    '| noise | input SNR (dB) | noise cut, noise-only: off / on / auto (dB) | SI-SDR off / on / auto (dB) | auto − max(on, off) | auto ≥ better − 0.5 dB |',
    '|---|---:|---|---|---:|:---:|',
    ...cs.map(
      (c) =>
        `| ${c.noise} | ${c.noise === 'none' ? '—' : c.snrDb} | ${triple(c, 'cut', f1)} | ${triple(c, 'sdr', f1)} | ${sgn(c.autoGap)} | ${c.autoOk === null ? 'n/a' : c.autoOk ? '✓' : '✗'} |`,
    ),
  ];
  const t2 = [
    "| noise | input SNR (dB) | segmental SNR off / on / auto (dB) | speech level change off / on / auto (dB) | auto applied RNNoise (calls) | auto's SNR estimate, median (dB) | auto's first decision, median (ms of call) |",
    '|---|---:|---|---|---:|---:|---:|',
    ...cs.map((c) => {
      const a = c.by.auto;
      const choice = a === undefined ? '—' : results.some((r) => r.mode === 'auto' && r.choice !== 'n/a') ? `${a.on}/${a.n}` : 'n/a';
      return `| ${c.noise} | ${c.noise === 'none' ? '—' : c.snrDb} | ${triple(c, 'seg', f1)} | ${triple(c, 'gain', sgn)} | ${choice} | ${a === undefined ? '—' : f1(a.snrEst)} | ${a === undefined || Number.isNaN(a.decidedAt) ? '—' : a.decidedAt.toFixed(0)} |`;
    }),
  ];
  const t3 = [
    '| mode | calls | call-seconds | wall s | gateway CPU per call (% of a core, idle subtracted) | idle (% of a core) | DSP_OVERLOAD drops (all attempts) | all drops | batches retried | frames missing / shed (last attempts) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...runs.map((r) => {
      const kept = results.filter((x) => x.mode === r.mode);
      const missing = `${kept.reduce((a, x) => a + x.framesMissing, 0)} / ${kept.reduce((a, x) => a + x.shedFrames, 0)}`;
      return r.supported
        ? `| ${r.mode} | ${r.calls} | ${r.callSeconds.toFixed(0)} | ${r.wallSeconds.toFixed(0)} | ${r.cpuPercentPerCall.toFixed(2)} | ${r.idleCpuPercent.toFixed(2)} | ${r.dspOverloadDrops} | ${r.drops} | ${r.retriedBatches} | ${missing} |`
        : `| ${r.mode} | not supported by this gateway | | | | | | | | |`;
    }),
  ];
  const lost = results.filter(disturbed).length;
  const lostNote =
    lost === 0
      ? ''
      : `\n\n**${lost} of ${results.length} calls lost frames or had RNNoise bypassed** (DSP_OVERLOAD or shedding: the machine was busy) and are left out of the quality figures; rerun with fewer --parallel, under flock -x /tmp/cpu.lock.`;
  const judged = cs.filter((c) => c.autoOk !== null);
  const on = runs.find((r) => r.mode === 'on');
  const verdict =
    judged.length === 0
      ? 'auto: not measured.'
      : `auto within ${AUTO_MARGIN_DB} dB of the better mode in ${judged.filter((c) => c.autoOk).length}/${judged.length} cells; ` +
        `CPU per call auto ${autoRun?.cpuPercentPerCall.toFixed(2)} % vs on ${on?.cpuPercentPerCall.toFixed(2)} %: ${autoRun !== undefined && on !== undefined && autoRun.cpuPercentPerCall < on.cpuPercentPerCall ? 'cheaper ✓' : 'not cheaper ✗'}.`;
  return `${t1.join('\n')}${autoNote}\n\n${t2.join('\n')}\n\n${t3.join('\n')}\n\n${verdict}${lostNote}`;
}
