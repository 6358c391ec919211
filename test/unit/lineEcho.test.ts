import { describe, expect, it } from 'vitest';
import { loadResamplerModule, Resampler } from '../../codecs/src/index.js';
import { g168Path, scaledResponse } from '../../bench/src/bargein/echoPaths.js';
import { LineEcho } from '../../gateway/src/media/LineEcho.js';
import { energy, fixture } from '../helpers/audio.js';

/** dB between two sums of energies */
const ratioDb = (a: number[], b: number[]) =>
  10 *
  Math.log10(
    a.reduce((x, y) => x + y, 0) /
      Math.max(
        1,
        b.reduce((x, y) => x + y, 0),
      ),
  );

/**
 * The agent's speech at `rate` and its echo through G.168 D.4 (an 8 kHz response, at rate/8000
 * times the taps' spacing: a band-limited path at `rate`), 80 ms late, 10 dB ERL.
 */
async function wideEcho(rate: number): Promise<{ far: Int16Array; near: Int16Array }> {
  const speex = await loadResamplerModule();
  const up = new Resampler(speex, { inRate: 8000, outRate: rate, quality: 3 });
  const src = Float32Array.from(fixture('bargein/agent-1.wav').samples);
  const farF = new Float32Array(up.maxOutput(src.length) + 16);
  const n = up.process(src, farF);
  up.close();
  const far = Int16Array.from(farF.subarray(0, n), (v) => Math.round(v));
  const h8 = scaledResponse(src, { kind: 'g168', name: 'D4', h: g168Path('D4'), delayMs: 0, erlDb: 10 });
  const r = rate / 8000;
  const delay = (80 * rate) / 1000;
  const near = new Int16Array(n);
  for (let i = delay; i < n; i++) {
    let a = 0;
    for (let k = 0; k < h8.length && r * k <= i - delay; k++) a += h8[k]! * far[i - delay - r * k]!;
    near[i] = Math.max(-32768, Math.min(32767, Math.round(a)));
  }
  return { far, near };
}

/**
 * The call's echo cancellers on wide edges: barge-in's judge cancels at 8 kHz on 16 kHz PCM and in
 * the 16 kHz band on Opus (near end and reference through the same resampler); the agent's audio
 * is cancelled as well, in place on 16 kHz PCM, by band splitting on Opus (the judge's echo
 * estimate brought to 48 kHz and subtracted from the packet, delayed by `delayMs`).
 */
describe('LineEcho on wide edges', () => {
  for (const [rate, codec] of [
    [48000, 'Opus'],
    [16000, '16 kHz PCM'],
  ] as const) {
    it(`cancels a dispersive echo for the judge and for the agent on ${codec}`, async () => {
      const { far, near } = await wideEcho(rate);
      const p = rate / 50;
      const judge = rate === 48000 ? 16000 : 8000;
      const echo = new LineEcho(await loadResamplerModule(), rate, rate, 3);
      const judgeIn: number[] = [];
      const judgeOut: number[] = [];
      const agentIn: number[] = [];
      const agentOut: number[] = [];
      for (let k = 0; k + p <= near.length; k += p) {
        echo.reference((1000 * k) / rate, far.subarray(k, k + p));
        const pkt = near.slice(k, k + p);
        const before = energy(pkt);
        echo.process(pkt, k, (1000 * k) / rate + 20);
        expect(echo.rate).toBe(judge);
        expect(echo.residual.length).toBe(judge / 50);
        expect(echo.line.length).toBe(judge / 50);
        if (k >= 2 * rate) {
          judgeIn.push(before / (rate / judge)); // the same (band-limited) echo at the judge's rate: fewer samples
          judgeOut.push(energy(echo.residual));
          agentIn.push(before);
          agentOut.push(energy(pkt));
        }
      }
      echo.close();
      const judgeDb = ratioDb(judgeIn, judgeOut);
      const agent = ratioDb(agentIn, agentOut);
      console.log(
        `${codec}: echo delay found ${((1000 * echo.aec.delay) / judge).toFixed(1)} ms; from 2 s on, judge ERLE ${judgeDb.toFixed(1)} dB, agent's ${agent.toFixed(1)} dB`,
      );
      expect(echo.aec.locked).toBe(true);
      expect(judgeDb).toBeGreaterThanOrEqual(15);
      expect(agent).toBeGreaterThanOrEqual(15);
      expect(echo.delayMs).toBe(rate === 48000 ? 2 : 0); // 1.5 ms down (speex quality 3), 0.5 ms up
    });
  }

  /** A 12 kHz tone of amplitude 2000 at 48 kHz sample `i`: above the judge's band. */
  const tone = (i: number) => Math.round(2000 * Math.sin((2 * Math.PI * 12000 * i) / 48000));

  /** A caller's speech at 48 kHz (the fixture, brought up from 8 kHz), 3 s. */
  async function wideSpeech(): Promise<Int16Array> {
    const speex = await loadResamplerModule();
    const up = new Resampler(speex, { inRate: 8000, outRate: 48000, quality: 3 });
    const src = Float32Array.from(fixture('caller-en-us-8k.wav').samples.subarray(0, 8000 * 3));
    const out = new Float32Array(up.maxOutput(src.length) + 16);
    const n = up.process(src, out);
    up.close();
    return Int16Array.from(out.subarray(0, n), (v) => Math.round(0.5 * v));
  }

  it('on Opus without an echo gives the agent its packets exactly, delayed by delayMs, across a concealed loss', async () => {
    const speech = await wideSpeech();
    const caller = Int16Array.from(speech, (v, i) => v + tone(i));
    const echo = new LineEcho(await loadResamplerModule(), 48000, 48000, 3);
    const d = (echo.delayMs * 48000) / 1000;
    const out: number[] = [];
    for (let k = 0; k + 960 <= caller.length; k += 960) {
      // no agent audio at all: the canceller has nothing to subtract
      const pkt = caller.slice(k, k + 960);
      if (k === 960 * 50)
        echo.conceal(pkt); // the decoder's concealment in this packet's place
      else echo.process(pkt, k, k / 48 + 20);
      out.push(...pkt);
    }
    echo.close();
    expect(d).toBe(96);
    expect(out.slice(0, d).every((v) => v === 0)).toBe(true);
    expect(Int16Array.from(out.slice(d))).toEqual(caller.subarray(0, out.length - d));
  });

  it('on Opus takes the echo out of the telephone band and leaves the band above 8 kHz as it came', async () => {
    const { far, near } = await wideEcho(48000);
    const speech = await wideSpeech();
    const talk = 4 * 48000; // the caller talks from 4 s on (double talk); the tone is there all along
    const n = Math.min(far.length, talk + speech.length);
    const line = Int16Array.from({ length: n }, (_, i) => near[i]! + tone(i) + (i >= talk ? speech[i - talk]! : 0));
    const echo = new LineEcho(await loadResamplerModule(), 48000, 48000, 3);
    const out = new Int16Array(n);
    for (let k = 0; k + 960 <= n; k += 960) {
      echo.reference(k / 48, far.subarray(k, k + 960));
      const pkt = line.slice(k, k + 960);
      echo.process(pkt, k, k / 48 + 20);
      out.set(pkt, k);
    }
    const d = (echo.delayMs * 48000) / 1000;
    echo.close();
    /** the 12 kHz tone's amplitude in `x` over [from, to), by correlation with it (speech and echo are under 4 kHz) */
    const amplitude = (x: Int16Array, from: number, to: number) => {
      let c = 0;
      let q = 0;
      for (let i = from; i < to; i++) {
        c += x[i]! * Math.cos((2 * Math.PI * 12000 * i) / 48000);
        q += x[i]! * Math.sin((2 * Math.PI * 12000 * i) / 48000);
      }
      return (2 * Math.hypot(c, q)) / (to - from);
    };
    // echo alone (with the tone) from 2 s to 4 s: what is left of it once the tone is taken out
    let left = 0;
    for (let i = 2 * 48000; i < talk; i++) left += (out[i]! - tone(i - d)) ** 2;
    const erle = 10 * Math.log10(energy(near, 2 * 48000 - d, talk - d) / left);
    const toneDb = (from: number, to: number) => 20 * Math.log10(amplitude(out, from, to) / 2000);
    const alone = toneDb(2 * 48000, talk);
    const talking = toneDb(talk, n);
    console.log(
      `Opus, agent: echo ${erle.toFixed(1)} dB down from 2 s to 4 s; 12 kHz tone ${alone.toFixed(2)} dB, ${talking.toFixed(2)} dB in double talk`,
    );
    expect(erle).toBeGreaterThanOrEqual(15);
    expect(Math.abs(alone)).toBeLessThan(0.5);
    expect(Math.abs(talking)).toBeLessThan(0.5);
  });

  it('gives barge-in the reference in the band it hears the line in', async () => {
    const speex = await loadResamplerModule();
    const levelDb = (x: Int16Array) => 10 * Math.log10(energy(x) / x.length / 32768 ** 2);
    // Opus: a 1 kHz tone under a 12 kHz one four times as loud (what an agent's 24 kHz TTS has over 8 kHz)
    const wide = new LineEcho(speex, 48000, 48000, 3);
    const inBand = (i: number) => Math.round(2000 * Math.sin((2 * Math.PI * 1000 * i) / 48000));
    const levels: number[] = [];
    for (let k = 0; k < 960 * 10; k += 960) {
      const frame = Int16Array.from({ length: 960 }, (_, i) => inBand(k + i) + 4 * tone(k + i));
      const band = wide.reference(k / 48, frame);
      expect(band.length).toBe(320); // 20 ms at the judge's 16 kHz
      if (k >= 960 * 2) levels.push(levelDb(band) - levelDb(Int16Array.from({ length: 960 }, (_, i) => inBand(k + i))));
    }
    wide.close();
    console.log(
      `Opus reference in the band, against its 1 kHz tone alone: ${Math.min(...levels).toFixed(2)} … ${Math.max(...levels).toFixed(2)} dB`,
    );
    for (const d of levels) expect(Math.abs(d)).toBeLessThan(0.5); // the 12 kHz tone (+12 dB) is not in it
    // 16 kHz PCM: the judge's 8 kHz, a 500 Hz tone under a 6 kHz one four times as loud
    const slin = new LineEcho(speex, 16000, 16000, 3);
    const low = (i: number) => Math.round(2000 * Math.sin((2 * Math.PI * 500 * i) / 16000));
    const high = (i: number) => Math.round(8000 * Math.sin((2 * Math.PI * 6000 * i) / 16000));
    for (let k = 0; k < 320 * 10; k += 320) {
      const band = slin.reference(
        k / 16,
        Int16Array.from({ length: 320 }, (_, i) => low(k + i) + high(k + i)),
      );
      expect(band.length).toBe(160);
      if (k >= 320 * 2) expect(Math.abs(levelDb(band) - levelDb(Int16Array.from({ length: 320 }, (_, i) => low(k + i))))).toBeLessThan(0.5);
    }
    slin.close();
    // G.711: the frame itself
    const narrow = new LineEcho(speex, 8000, 8000, 3);
    const frame = new Int16Array(160).fill(100);
    expect(narrow.reference(0, frame)).toBe(frame);
    narrow.close();
  });

  for (const [rate, codec] of [
    [8000, 'G.711'],
    [48000, 'Opus'],
  ] as const) {
    it(`stamps the line and the judged audio each with its own time on ${codec}`, async () => {
      const echo = new LineEcho(await loadResamplerModule(), rate, rate, 3);
      const p = rate / 50;
      const clickAt = 10 * p + Math.round(0.37 * p); // 200 + 7.4 ms into the call
      const clickMs = (1000 * clickAt) / rate;
      const found = { line: NaN, judged: NaN };
      /** media time of `x`'s loudest sample, if it stands out: the click (band-limited on Opus) */
      const click = (x: Int16Array, atMs: number) => {
        let best = 0;
        for (let i = 1; i < x.length; i++) if (Math.abs(x[i]!) > Math.abs(x[best]!)) best = i;
        return Math.abs(x[best]!) > 1000 ? atMs + (1000 * best) / echo.rate : NaN;
      };
      for (let k = 0; k < 20 * p; k += p) {
        // no agent audio: the canceller and its suppressor pass the line through
        const pkt = Int16Array.from({ length: p }, (_, i) => (k + i === clickAt ? 20000 : 0));
        echo.process(pkt, k, (1000 * k) / rate + 20);
        found.line = Number.isNaN(found.line) ? click(echo.line, echo.lineAtMs) : found.line;
        found.judged = Number.isNaN(found.judged) ? click(echo.residual, echo.atMs) : found.judged;
      }
      echo.close();
      // the resampler's delay on Opus, the same for both (1.5 ms at speex quality 3)
      const lag = rate === 8000 ? 0 : 1.5;
      console.log(
        `${codec}: a click at ${clickMs.toFixed(2)} ms read at ${found.line.toFixed(2)} ms in the line, ${found.judged.toFixed(2)} ms in the judged audio`,
      );
      expect(Math.abs(found.line - clickMs - lag)).toBeLessThan(1000 / echo.rate + 0.1);
      expect(Math.abs(found.judged - clickMs - lag)).toBeLessThan(1000 / echo.rate + 0.1);
    });
  }
});
