import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { Resampler, loadResamplerModule } from '../../../codecs/src/index.js';
import { CHAINS, throughPcmu } from './chains.js';
import { mixture, NOISES, SNRS, speechSet, type Noise } from './mixtures.js';
import { measure, type Quality } from './quality.js';
import { cellKey, median } from './report.js';

/**
 * Offline comparison of suppressors on the benchmark's mixtures, without a gateway: each
 * candidate runs in a chain built like the gateway's (PCMU packets → suppressor → 24 kHz), and is
 * measured like the gateway benchmark measures (at 8 kHz against the clean speech). Also the CPU
 * time of each chain per 20 ms packet. `npm run bench:denoise -- --offline …`
 */
export const OFFLINE_HELP = `  --offline                 compare suppressors offline instead (no gateway)
  --chains off,rnnoise,...  offline chains: off, rnnoise, speex-15, speex-30, gtcrn
  --suppressors DIR         dist/ of @sapphi-red/web-noise-suppressor 0.4.1 (speex and gtcrn chains)`;

export interface OfflineRow {
  chain: string;
  noise: Noise;
  snrDb: number;
  speech: string;
  q: Quality;
}

export async function runOffline(o: {
  chains: string[];
  dist: string | null;
  set: 'heldout' | 'tune';
  seed: number;
  noises: Noise[];
  snrs: number[];
}): Promise<{ rows: OfflineRow[]; cpuUsPerPacket: Record<string, number> }> {
  const speex = await loadResamplerModule();
  const rows: OfflineRow[] = [];
  const voices = speechSet(o.set);
  for (const noise of o.noises) {
    for (const snr of noise === 'none' ? [NaN] : o.snrs) {
      for (const [v, voice] of voices.entries()) {
        const m = mixture(voice, noise, snr, o.seed * 1000 + v);
        const input = throughPcmu(m.noisy);
        for (const name of o.chains) {
          const chain = await CHAINS[name]!(o.dist)();
          const out24: number[] = [];
          for (const p of input) chain.push(p, out24);
          chain.close();
          rows.push({ chain: name, noise, snrDb: snr, speech: m.speech, q: measure(m, to8k(speex, Float32Array.from(out24))) });
        }
      }
      process.stdout.write('.');
    }
  }
  process.stdout.write('\n');
  // CPU: the quickest of several 2 s stretches of one mixture per chain. On a shared machine a
  // mean over the whole run counts other processes' time slices; the minimum does not.
  const probe = throughPcmu(mixture(voices[0]!, 'pink', 10, o.seed).noisy);
  const cpuUsPerPacket: Record<string, number> = {};
  for (const name of o.chains) {
    const chain = await CHAINS[name]!(o.dist)();
    const sink: number[] = [];
    let best = Infinity;
    for (let rep = 0; rep < 8; rep++) {
      const before = chain.busyMs;
      for (let k = 0; k < 100; k++) chain.push(probe[(rep * 100 + k) % probe.length]!, sink);
      best = Math.min(best, (1000 * (chain.busyMs - before)) / 100);
      sink.length = 0;
    }
    chain.close();
    cpuUsPerPacket[name] = best;
  }
  return { rows, cpuUsPerPacket };
}

/** The measuring resampler: agent rate → 8 kHz at speex's best quality. */
export function to8k(speex: Awaited<ReturnType<typeof loadResamplerModule>>, x: Float32Array, rate = 24000): Float32Array {
  const r = new Resampler(speex, { inRate: rate, outRate: 8000, quality: 10 });
  const out = new Float32Array(r.maxOutput(x.length) + 8);
  const n = r.process(x, out);
  r.close();
  return out.subarray(0, n);
}

/** Per cell: SI-SDR (median over voices) and noise cut of each chain, and its gain over off. */
export function offlineTable(rows: OfflineRow[], chains: string[], cpu: Record<string, number>): string {
  const cells = [...new Set(rows.map((r) => cellKey(r.noise, r.snrDb)))];
  const head = `| noise | SNR | ${chains.map((c) => `${c} SI-SDR / cut`).join(' | ')} | best |`;
  const out = [head, `|---|---|${chains.map(() => '---|').join('')}---|`];
  const f = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '—');
  for (const cell of cells) {
    const [noise, snr] = cell.split('@');
    const per = chains.map((c) => {
      const rs = rows.filter((r) => r.chain === c && cellKey(r.noise, r.snrDb) === cell);
      return { c, sdr: median(rs.map((r) => r.q.siSdrDb)), cut: median(rs.map((r) => r.q.noiseCutDb)) };
    });
    const best = per.reduce((a, b) => (b.sdr > a.sdr ? b : a));
    out.push(`| ${noise} | ${snr ?? '—'} | ${per.map((p) => `${f(p.sdr)} / ${f(p.cut)}`).join(' | ')} | ${best.c} |`);
  }
  out.push(
    `| suppressor CPU, µs per 20 ms packet, best of 8 × 2 s (% of a core per call) | | ${chains.map((c) => `${cpu[c]!.toFixed(0)} (${(cpu[c]! / 200).toFixed(2)} %)`).join(' | ')} | |`,
  );
  return out.join('\n');
}

export async function offlineMain(v: {
  chains: string;
  suppressors: string | undefined;
  set: string;
  seed: string;
  noises: string;
  snrs: string;
  out: string;
}): Promise<void> {
  const chains = v.chains.split(',');
  for (const c of chains) if (!(c in CHAINS)) throw new Error(`unknown chain ${c}: one of ${Object.keys(CHAINS).join(', ')}`);
  const set = v.set as 'heldout' | 'tune';
  const noises = v.noises.split(',') as Noise[];
  for (const n of noises) if (!(NOISES as readonly string[]).includes(n)) throw new Error(`unknown noise ${n}`);
  const res = await runOffline({
    chains,
    dist: v.suppressors ?? null,
    set,
    seed: Number(v.seed),
    noises,
    snrs: v.snrs.split(',').map(Number),
  });
  const table = offlineTable(res.rows, chains, res.cpuUsPerPacket);
  const machine = `${os.cpus()[0]?.model ?? 'CPU'}, ${os.cpus().length} cores, Node ${process.version}`;
  console.log(
    `\nOffline, ${set} speech, seed ${v.seed}; ${machine}\nSI-SDR (dB, median over voices) / noise cut on noise-only stretches (dB)\n`,
  );
  console.log(table);
  mkdirSync(v.out, { recursive: true });
  const file = `${v.out}/denoise-offline-${set}.json`;
  writeFileSync(file, JSON.stringify({ machine, date: new Date().toISOString(), set, seed: v.seed, chains, ...res }, null, 1));
  console.log(`\nwrote ${file}`);
}

export { SNRS };
