import { describe, expect, it } from 'vitest';
import { loadDenoiserModule, loadResamplerModule } from '../../codecs/src/index.js';
import type { Gateway } from '../../gateway/src/Gateway.js';
import { levelDb } from '../../gateway/src/media/BargeIn.js';
import { DspPool } from '../../gateway/src/media/DspPool.js';
import { RtpCaller, sleep } from '../../testkit/RtpCaller.js';
import { TestAgent } from '../../testkit/TestAgent.js';
import { energy, fixture } from '../helpers/audio.js';
import { counter, until, withGatewayAndAgent } from '../helpers/gateway.js';

describe('a DSP worker that dies mid-call', () => {
  let gw: Gateway;
  let url: string;
  let agent: TestAgent;
  withGatewayAndAgent({ dspWorkers: 1 }, (g) => ({ gw, url, agent } = g));

  it('is replaced: the call keeps going and its audio comes back after a short gap, counted', async () => {
    const clip = fixture('caller-en-us-8k.wav').samples;
    // 10 s of speech (the clip looped): the restart (a new thread compiling its sources) may take
    // seconds on a loaded machine, and the call must still be streaming when it is back.
    const speech = Int16Array.from({ length: 8000 * 10 }, (_, i) => clip[i % clip.length]!);
    const caller = await RtpCaller.place({
      gateway: url,
      transport: 'udp',
      route: { agent: { url: agent.url }, bargeIn: { enabled: false } },
    });
    const s = await agent.session(caller.callId);
    const streaming = caller.stream(speech);
    await s.until(() => s.frames.length >= 75, 5000, '1.5 s of caller audio at the agent');
    const killedAt = performance.now();
    await gw.dspPool!.workersForTesting[0]!.terminate();
    await streaming;
    await sleep(300);

    // Frames resumed after a gap (the restart; audio that waited past the DSP deadline meanwhile
    // is dropped, not delivered late): at least a second of them, carrying the caller's voice.
    const after = s.frames.filter((f) => f.atMs > killedAt);
    expect(after.length).toBeGreaterThan(50);
    const late = after.slice(-50);
    expect(energy(late.flatMap((f) => [...f.pcm]))).toBeGreaterThan(0);
    expect(await counter(gw, 'gateway_dsp_worker_restarts_total')).toBe(1);
    expect(await counter(gw, 'gateway_drops_total', { reason: 'DSP_WORKER_RESTARTED' })).toBe(1);
    const snap = (await (await fetch(`${url}/v1/calls/${caller.callId}`)).json()) as { state: string; dspRestarts: number };
    expect(snap).toMatchObject({ state: 'active', dspRestarts: 1 });

    // The replacement takes new calls too.
    const second = await RtpCaller.place({
      gateway: url,
      transport: 'udp',
      route: { agent: { url: agent.url }, bargeIn: { enabled: false } },
    });
    const s2 = await agent.session(second.callId);
    await second.stream(speech.subarray(0, 8000));
    await s2.until(() => s2.frames.length >= 45, 3000, 'the second call to reach its agent');
    await caller.end();
    await second.end();
  }, 30_000);
});

describe('DSP overload (DSP_OVERLOAD) and the levels barge-in reads', () => {
  it('delivers each frame with the raw levels of its own input, whatever was dropped before it', async () => {
    const [speex, rnnoise] = await Promise.all([loadResamplerModule(), loadDenoiserModule()]);
    const pool = await DspPool.create({ speex, rnnoise }, 1);
    // 20 ms blocks at distinct levels (−10 … −40 dBFS in 6 dB steps, repeating): a frame paired
    // with a neighbour's level would be off by 6 dB or more.
    const blockDb = (k: number) => -10 - 6 * (k % 6);
    const block = (k: number) => {
      const a = 32768 * 10 ** (blockDb(k) / 20) * Math.SQRT2;
      return Int16Array.from({ length: 160 }, (_, i) => Math.round(a * Math.sin((2 * Math.PI * 440 * (160 * k + i)) / 8000)));
    };
    const frames: { own: [number, number]; raw: [number, number] }[] = [];
    let overruns = 0;
    let refused = 0;
    const chain = pool.open(
      { inRate: 8000, outRate: 24000, denoise: false, quality: 3 },
      (frame, _vad, raw) => {
        frames.push({ own: [levelDb(frame, 0, 240), levelDb(frame, 240, 480)], raw: [raw[0]!, raw[1]!] });
      },
      { overrun: () => overruns++, restarted: () => {}, failed: () => {} },
    );
    // Phase 1: this thread pushes 120 blocks without ever yielding, a little slower than the
    // worker runs, so the worker keeps up but its output ring (1 s) fills: frames are dropped.
    for (let k = 0; k < 120; k++) {
      const until = performance.now() + 0.5;
      while (performance.now() < until);
      if (!chain.push(block(k), 0)) refused++;
    }
    // Phase 2: a burst with no pause at all, faster than the worker: pushes are refused.
    for (let k = 120; k < 400; k++) if (!chain.push(block(k), 0)) refused++;
    await sleep(300);
    // Phase 3: normal pace again.
    for (let k = 400; k < 440; k++) {
      chain.push(block(k), 0);
      await sleep(2);
    }
    // At least the 40 blocks of phase 3 come through, after whatever survived phases 1 and 2.
    await until(() => frames.length >= 40, 10_000, 'frames after the overload');
    await sleep(200);
    chain.close();
    await pool.close();

    console.log(`overload: ${overruns} frames dropped by the worker, ${refused} pushes refused, ${frames.length} frames delivered`);
    expect(overruns + refused).toBeGreaterThan(0);
    // Every frame carries its own input's levels. The second half of a frame is all one block (its
    // first holds a ms or two of whatever block was accepted before, the chain's delay, so it is
    // not a clean measure). A frame paired with a neighbour's levels would be 6 dB or more off.
    let worst = 0;
    for (const f of frames.slice(1)) worst = Math.max(worst, Math.abs(f.raw[1] - f.own[1]));
    expect(worst).toBeLessThan(1);
  }, 20_000);
});
