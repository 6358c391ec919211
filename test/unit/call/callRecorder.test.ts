import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadResamplerModule } from '../../../codecs/src/index.js';
import type { SpeexModule } from '../../../gateway/src/media/InboundDsp.js';
import { CallRecorder, type CallRecorderOptions } from '../../../gateway/src/call/CallRecorder.js';
import { RecordingFile } from '../../../gateway/src/call/RecordingFile.js';
import { rng, xcorrPeak } from '../../helpers/audio.js';

/**
 * The recorder on a simulated clock (times in ms from the call's start), writing real files:
 * where each channel's audio lands, what a clear erases, how late audio is refused, and the
 * finished WAV.
 */
let dir: string;
let speex: SpeexModule;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vg-recorder-'));
  speex = await loadResamplerModule();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function recorder(name: string, o: Partial<CallRecorderOptions> = {}) {
  const errors: string[] = [];
  const file = new RecordingFile(
    join(dir, `${name}.wav`),
    8000,
    2,
    (code) => errors.push(code),
    () => {},
  );
  const rec = new CallRecorder(file, {
    rate: 8000,
    clockRate: 8000,
    t0: 0,
    caller: 'raw',
    agentRate: 24000,
    speex,
    resampleQuality: 3,
    ...o,
  });
  return { rec, file, errors };
}

async function channels(path: string): Promise<{ left: Int16Array; right: Int16Array; header: Buffer }> {
  const b = await readFile(path);
  const n = b.readUInt32LE(40) / 4;
  const left = new Int16Array(n);
  const right = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    left[i] = b.readInt16LE(44 + 4 * i);
    right[i] = b.readInt16LE(46 + 4 * i);
  }
  return { left, right, header: b.subarray(0, 44) };
}

const frame = (v: number, n = 160) => new Int16Array(n).fill(v);

describe('CallRecorder', () => {
  it('places the caller by RTP timestamp (not by jittered arrival), leaves lost packets silent, re-anchors on a timestamp jump', async () => {
    const { rec, file } = recorder('raw');
    const r = rng(5);
    const ts0 = 2 ** 32 - 800; // wraps after 5 packets
    for (let k = 0; k < 150; k++) {
      if (k === 50) continue; // lost
      const arrival = 100 + 20 * (k + 1) + (k === 0 ? 0 : 15 * r());
      rec.caller(frame(k + 1), (ts0 + 160 * k) >>> 0, arrival);
    }
    // A new source: its timestamps start anywhere; it lands where it arrived.
    rec.caller(frame(7777), 123_456, 4000);
    expect(await rec.close()).toBe(file.dataBytes);
    const { left, right, header } = await channels(file.path);
    expect(header.toString('ascii', 0, 4)).toBe('RIFF');
    for (const k of [0, 1, 4, 5, 6, 49, 51, 149]) expect(left[800 + 160 * k + 80], `frame ${k}`).toBe(k + 1);
    expect(left.subarray(800 + 160 * 50, 800 + 160 * 51).every((x) => x === 0)).toBe(true);
    expect(left.subarray(0, 800).every((x) => x === 0)).toBe(true);
    expect(left[4000 * 8 - 160 + 5]).toBe(7777);
    expect(right.every((x) => x === 0)).toBe(true);
    await expect(stat(`${file.path}.part`)).rejects.toThrow();
  });

  it('places the agent at playsAtMs; a frame placed earlier than the channel’s end erases what followed (a clear)', async () => {
    const { rec, file } = recorder('agent');
    // A buffered edge: 60 ms ahead of the tick; 100 frames sent.
    for (let k = 0; k < 100; k++) rec.agent(500 + 20 * k, frame(1000 + k));
    // Cleared at 1800 ms: the next frame (silence) plays now; what was sent for later never played.
    rec.agent(1800, frame(0));
    rec.agent(1820, frame(0));
    await rec.close();
    const { right } = await channels(file.path);
    const at = (ms: number) => 8 * ms;
    expect(right[at(500) + 3]).toBe(1000);
    expect(right[at(1780) + 3]).toBe(1064);
    expect(right.subarray(at(1800)).every((x) => x === 0)).toBe(true);
    expect(right.length).toBe(at(1840)); // the file ends with what was heard
  });

  it('writes about once a second while the call lasts (bounded memory), and refuses audio older than what went to the file', async () => {
    const { rec, file } = recorder('long');
    for (let k = 0; k < 300; k++) rec.agent(20 * k, frame(1));
    await new Promise((r) => setTimeout(r, 100));
    const onDisk = (await stat(`${file.path}.part`)).size - 44;
    // 6 s played: everything but the last 0.75–1.75 s is on disk already.
    expect(onDisk).toBeGreaterThanOrEqual(4 * 8000 * 4.25);
    expect(onDisk).toBeLessThanOrEqual(4 * 8000 * 5.25);
    rec.caller(frame(9), 0, 40); // placed at 20–40 ms: long gone to the file
    expect(rec.lateSamples).toBe(160);
    await rec.close();
    expect((await channels(file.path)).left.every((x) => x === 0)).toBe(true);
  });

  it('records the denoised caller (agent rate) at the file rate, where the caller said it', async () => {
    const { rec, file } = recorder('denoised', { caller: 'denoised' });
    const hz = 440;
    // The frames a chain of 14 ms delay delivers: frame k carries the 24 kHz audio of [20k − 14, 20k + 6) ms.
    const delayMs = 14;
    for (let k = 1; k < 150; k++) {
      const f = new Int16Array(480);
      for (let i = 0; i < 480; i++)
        f[i] = Math.round(8000 * Math.sin((2 * Math.PI * hz * ((20 * k - delayMs) / 1000 + i / 24000)) % (2 * Math.PI)));
      rec.callerFrame(f, 20 * k + delayMs + 20, delayMs);
    }
    await rec.close();
    const { left } = await channels(file.path);
    // What the caller said, at 8 kHz on the call clock: a sine from t = 6 ms on.
    const want = Int16Array.from({ length: 8000 }, (_, i) => Math.round(8000 * Math.sin(2 * Math.PI * hz * ((i + 800) / 8000))));
    const got = xcorrPeak(want, left.subarray(800 - 40), 80);
    expect(got.peak).toBeGreaterThan(0.99);
    // Within 1 ms of where it belongs (the lag search spans ±5 ms; one period of 440 Hz is 2.3 ms).
    expect(Math.abs(got.lag - 40)).toBeLessThanOrEqual(8);
  });
});
