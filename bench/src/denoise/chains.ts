import {
  DENOISER_FRAME,
  Denoiser,
  Resampler,
  g711DecodeFloatInto,
  g711EncodeFloatInto,
  loadDenoiserModule,
  loadResamplerModule,
} from '../../../codecs/src/index.js';
import { performance } from 'node:perf_hooks';
import { gtcrn, speexPreprocess } from './candidates.js';

/**
 * Inbound chains for the offline comparison, built like the gateway's (InboundDsp): 20 ms PCMU
 * packets in, decoded, through one suppressor, resampled (speex Q3) to the agent's 24 kHz. Each
 * chain is created per call and streams packet by packet, so its state evolves as in a call.
 */
export interface Chain {
  /** One 20 ms packet of decoded 8 kHz PCM (float, 16-bit scale) → agent-rate samples appended to `out`. */
  push(pcm8: Float32Array, out: number[]): void;
  /** time spent in the suppressor itself (not the resamplers or this harness), ms */
  readonly busyMs: number;
  close(): void;
}

export type ChainFactory = () => Promise<Chain>;

const AGENT_RATE = 24000;
const Q = 3;

/** A suppressor stage at its own rate and hop, between two speex resamplers. */
function framed(rate: number, hop: number, stage: (frame: Float32Array) => Float32Array, close: () => void): ChainFactory {
  return async () => {
    const speex = await loadResamplerModule();
    const up = new Resampler(speex, { inRate: 8000, outRate: rate, quality: Q });
    const down = new Resampler(speex, { inRate: rate, outRate: AGENT_RATE, quality: Q });
    const fifo: number[] = [];
    const tmp = new Float32Array(up.maxOutput(160) + 8);
    const out24 = new Float32Array(down.maxOutput(hop) + 8);
    const frame = new Float32Array(hop);
    let busyMs = 0;
    return {
      get busyMs() {
        return busyMs;
      },
      push(pcm8, out) {
        const n = up.process(pcm8, tmp);
        for (let i = 0; i < n; i++) fifo.push(tmp[i]!);
        while (fifo.length >= hop) {
          for (let i = 0; i < hop; i++) frame[i] = fifo[i]!;
          fifo.splice(0, hop);
          const t0 = performance.now();
          const y = stage(frame);
          busyMs += performance.now() - t0;
          const m = down.process(y, out24);
          for (let i = 0; i < m; i++) out.push(out24[i]!);
        }
      },
      close() {
        up.close();
        down.close();
        close();
      },
    };
  };
}

export const CHAINS: Record<string, (dist: string | null) => ChainFactory> = {
  /** no suppressor: 8 → 24 kHz (the gateway with denoise off) */
  off: () => async () => {
    const r = new Resampler(await loadResamplerModule(), { inRate: 8000, outRate: AGENT_RATE, quality: Q });
    const tmp = new Float32Array(r.maxOutput(160) + 8);
    return {
      busyMs: 0,
      push(pcm8, out) {
        const n = r.process(pcm8, tmp);
        for (let i = 0; i < n; i++) out.push(tmp[i]!);
      },
      close: () => r.close(),
    };
  },
  /** RNNoise at 48 kHz (the gateway with denoise on) */
  rnnoise: () => async () => {
    const den = new Denoiser(await loadDenoiserModule());
    const clean = new Float32Array(DENOISER_FRAME);
    const f = await framed(
      48000,
      DENOISER_FRAME,
      (x) => {
        den.process(x, clean);
        return clean;
      },
      () => den.close(),
    )();
    return f;
  },
  /** SpeexDSP preprocessor at 8 kHz, 20 ms frames, at most 15 dB of suppression (its default) */
  'speex-15': (dist) => speexChain(dist, -15),
  /** …at most 30 dB */
  'speex-30': (dist) => speexChain(dist, -30),
  /** GTCRN at 16 kHz (256-sample hops) */
  gtcrn: (dist) => async () => {
    const g = await gtcrn(need(dist));
    const scaled = new Float32Array(g.frame);
    return framed(
      16000,
      g.frame,
      (x) => {
        for (let i = 0; i < x.length; i++) scaled[i] = x[i]! / 32768;
        const y = g.run(scaled);
        for (let i = 0; i < y.length; i++) scaled[i] = y[i]! * 32768;
        return scaled;
      },
      () => g.close(),
    )();
  },
};

function need(dist: string | null): string {
  if (dist === null) throw new Error('this candidate needs --suppressors DIR (see bench/README.md, "Second suppressor")');
  return dist;
}

function speexChain(dist: string | null, suppressDb: number): ChainFactory {
  return async () => {
    const sp = await speexPreprocess(need(dist), 160, 8000, suppressDb);
    const off = await CHAINS['off']!(null)();
    const i16 = new Int16Array(160);
    const f = new Float32Array(160);
    let busyMs = 0;
    return {
      get busyMs() {
        return busyMs;
      },
      push(pcm8, out) {
        for (let i = 0; i < 160; i++) i16[i] = Math.max(-32768, Math.min(32767, Math.round(pcm8[i]!)));
        const t0 = performance.now();
        sp.run(i16);
        busyMs += performance.now() - t0;
        for (let i = 0; i < 160; i++) f[i] = i16[i]!;
        off.push(f, out);
      },
      close() {
        sp.close();
        off.close();
      },
    };
  };
}

/** What a PCMU phone sends and the gateway decodes: the signal through G.711 µ-law, 20 ms packets. */
export function throughPcmu(x: Float32Array): Float32Array[] {
  const packets: Float32Array[] = [];
  const codes = new Uint8Array(160);
  for (let k = 0; (k + 1) * 160 <= x.length; k++) {
    g711EncodeFloatInto('ulaw', x.subarray(k * 160, (k + 1) * 160), codes);
    const p = new Float32Array(160);
    g711DecodeFloatInto('ulaw', codes, p);
    packets.push(p);
  }
  return packets;
}
