import { readFile, stat, utimes } from 'node:fs/promises';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import type { Call } from '../../gateway/src/call/Call.js';
import type { Gateway } from '../../gateway/src/Gateway.js';
import { tsDiff } from '../../codecs/src/index.js';
import { RoutingTable } from '../../gateway/src/routing.js';
import { RtpCaller, sleep } from '../../testkit/RtpCaller.js';
import { TestAgent } from '../../testkit/TestAgent.js';
import { fixture, gaussian, rng, xcorrPeak } from '../helpers/audio.js';
import { counter, resampleAll, startGateway, ulawRoundTrip, until, withGatewayAndAgent } from '../helpers/gateway.js';

/**
 * Call recording (route option `record`): a stereo WAV on the call clock, the caller on the left
 * (as received), the agent on the right (as played, clears applied), served by
 * GET /v1/calls/{id}/recording once the call has ended, forwarded by any instance, swept by age.
 */
const speech = new Int16Array(8000 * 8);
speech.set(fixture('caller-en-us-8k.wav').samples.subarray(0, speech.length));
/**
 * The agent's burst: 1.5 s of its reply, then 4 s of seeded white noise (24 kHz). The clear comes
 * about a second into the noise, so what is dropped is noise: unlike speech, no stretch of it
 * resembles another, and it can be looked for anywhere in the recording.
 */
const reply24k = fixture('agent-reply-24k.wav').samples;
const g = gaussian(rng(1603));
const noise24k = Int16Array.from({ length: 24000 * 4 }, () => Math.round(3000 * g()));
const burst24k = new Int16Array(36000 + noise24k.length);
burst24k.set(reply24k.subarray(0, 36000));
burst24k.set(noise24k, 36000);

/** The channels of a 16-bit stereo WAV (the gateway's canonical 44-byte header, checked). */
function stereo(wav: Uint8Array): { rate: number; left: Int16Array; right: Int16Array } {
  const b = Buffer.from(wav);
  expect(b.toString('ascii', 0, 4)).toBe('RIFF');
  expect(b.toString('ascii', 8, 16)).toBe('WAVEfmt ');
  expect(b.readUInt16LE(22)).toBe(2);
  expect(b.readUInt16LE(34)).toBe(16);
  const dataBytes = b.readUInt32LE(40);
  expect(dataBytes).toBe(b.length - 44);
  expect(b.readUInt32LE(4)).toBe(36 + dataBytes);
  const n = dataBytes / 4;
  const left = new Int16Array(n);
  const right = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    left[i] = b.readInt16LE(44 + 4 * i);
    right[i] = b.readInt16LE(46 + 4 * i);
  }
  return { rate: b.readUInt32LE(24), left, right };
}

/** The noise at the edge rate (8 kHz): a stretch that played (0.2–0.7 s in) and one that was dropped (2–3 s in). */
async function noiseParts(): Promise<{ played: Float32Array; dropped: Float32Array }> {
  const { pcm } = await resampleAll(noise24k, 24000, 8000);
  return { played: pcm.subarray(1600, 5600), dropped: pcm.subarray(16000, 24000) };
}

function maxAbs(x: Int16Array, from: number, to = x.length): number {
  let m = 0;
  for (let i = Math.max(0, from); i < Math.min(to, x.length); i++) m = Math.max(m, Math.abs(x[i]!));
  return m;
}

/** Where `ref` best matches `rec` within ±`slack` samples of `expected`: the lag and its normalised correlation. */
function locate(ref: ArrayLike<number>, rec: Int16Array, expected: number, slack: number): { lag: number; peak: number } {
  const from = Math.max(0, expected - slack);
  const r = xcorrPeak(ref, rec.subarray(from), expected + slack - from);
  return { lag: from + r.lag, peak: r.peak };
}

describe('call recording over UDP', () => {
  let gw: Gateway;
  let url: string;
  let agent: TestAgent;
  withGatewayAndAgent({ dspWorkers: 1 }, (g) => ({ gw, url, agent } = g));

  it('records the caller (left) and the agent as played (right) on the call clock; after a clear the right channel is silent', async () => {
    const caller = await RtpCaller.place({
      gateway: url,
      transport: 'udp',
      route: { agent: { url: agent.url }, record: true, denoise: false, bargeIn: { enabled: false } },
    });
    const call: Call = gw.calls.get(caller.callId)!;
    const t0 = call.record.t0;
    const s = await agent.session(caller.callId);
    let clearAt = 0;
    await Promise.all([
      caller.stream(speech),
      (async () => {
        await sleep(1000);
        s.sendAudio(burst24k);
        await sleep(2500);
        clearAt = s.send({ type: 'clear' }); // ~2.5 s played (1.5 s of speech, 1 s of noise), ~3 s of noise dropped
      })(),
    ]);
    // While the call lasts, the recording is not there yet.
    const early = await fetch(`${url}/v1/calls/${caller.callId}/recording`);
    expect(early.status).toBe(409);
    expect(((await early.json()) as { error: { code: string } }).error.code).toBe('RECORDING_IN_PROGRESS');
    await caller.end();
    await call.record.finished;

    const res = await fetch(`${url}/v1/calls/${caller.callId}/recording`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('audio/wav');
    const { rate, left, right } = stereo(new Uint8Array(await res.arrayBuffer()));
    expect(rate).toBe(8000);
    const at = (ms: number) => Math.round(((ms - t0) * rate) / 1000);

    // Left: what the caller sent (after µ-law), its first sample spoken 20 ms before packet 0 left.
    const sentRef = ulawRoundTrip(speech).subarray(0, 8000 * 4);
    const wantLeft = at(caller.sent[0]!.sentMs - 20);
    const l = locate(sentRef, left, wantLeft, 800);
    console.log(`left: correlation ${l.peak.toFixed(4)}, placed ${((1000 * (l.lag - wantLeft)) / rate).toFixed(2)} ms from the call clock`);
    expect(l.peak).toBeGreaterThanOrEqual(0.9);
    expect(Math.abs(l.lag - wantLeft)).toBeLessThanOrEqual(160); // 20 ms

    // Right: what the caller received (laid out by RTP timestamp), placed where it arrived: the
    // least-delayed packet anchors the timeline, so one packet held up in this busy process does not.
    const heard = caller.recording();
    const ts0 = caller.received[0]!.ts;
    const wantRight = at(Math.min(...caller.received.map((p) => p.arrivalMs - tsDiff(ts0, p.ts) / 8)));
    const played = heard.subarray(8000, 8000 * 3); // 1–3 s after the first packet: the reply playing
    const r = locate(played, right, wantRight + 8000, 800);
    console.log(
      `right: correlation ${r.peak.toFixed(4)}, placed ${((1000 * (r.lag - wantRight - 8000)) / rate).toFixed(2)} ms from the call clock`,
    );
    expect(r.peak).toBeGreaterThanOrEqual(0.9);
    expect(Math.abs(r.lag - wantRight - 8000)).toBeLessThanOrEqual(160);

    // After the clear (and the tick that applies it) the right channel is silent to the end...
    const cleared = at(clearAt) + 2 * 160;
    expect(maxAbs(right, at(clearAt) - 8000, at(clearAt))).toBeGreaterThan(1000); // it was playing before
    expect(maxAbs(right, cleared)).toBe(0);
    // ...and the audio that was dropped appears nowhere in it.
    const { played: playedNoise, dropped } = await noiseParts();
    const anywhere = xcorrPeak(dropped, right, right.length - dropped.length);
    const playedPart = xcorrPeak(playedNoise, right, right.length - playedNoise.length);
    console.log(`dropped audio: best correlation anywhere ${anywhere.peak.toFixed(3)} (noise that played: ${playedPart.peak.toFixed(3)})`);
    expect(playedPart.peak).toBeGreaterThanOrEqual(0.9);
    expect(anywhere.peak).toBeLessThan(0.15);
  }, 40_000);
});

describe('recording on a buffered edge (Twilio Media Streams)', () => {
  it('erases what the platform held when a clear dropped it: nothing after the clear, the dropped audio nowhere', async () => {
    const agent = await TestAgent.listen();
    const route = { agent: { url: agent.url }, record: true, denoise: false, bargeIn: { enabled: false } };
    const { gw, url } = await startGateway({ dspWorkers: 1, routing: new RoutingTable({ default: route }) });
    try {
      const caller = await RtpCaller.place({ gateway: url, transport: 'twilio' });
      await until(() => caller.callId !== '' && gw.calls.get(caller.callId) !== undefined, 5000, 'the call');
      const call = gw.calls.get(caller.callId)!;
      const s = await agent.session(caller.callId);
      let clearAt = 0;
      await Promise.all([
        caller.stream(speech.subarray(0, 8000 * 5)),
        (async () => {
          await sleep(800);
          s.sendAudio(burst24k);
          await sleep(2500);
          clearAt = s.send({ type: 'clear' });
        })(),
      ]);
      await caller.hangup();
      await until(() => call.state === 'closed', 5000, 'the call to end');
      await call.record.finished;
      const { rate, right } = stereo(await readFile(gw.recordings.pathOf(call.id)!));
      const at = (ms: number) => Math.round(((ms - call.record.t0) * rate) / 1000);
      expect(maxAbs(right, at(clearAt) - 8000, at(clearAt))).toBeGreaterThan(1000);
      // A buffered edge is kept 40–60 ms ahead: those frames were sent, then flushed by the clear.
      expect(maxAbs(right, at(clearAt) + 2 * 160)).toBe(0);
      const { played, dropped } = await noiseParts();
      expect(xcorrPeak(dropped, right, right.length - dropped.length).peak).toBeLessThan(0.15);
      expect(xcorrPeak(played, right, right.length - played.length).peak).toBeGreaterThanOrEqual(0.9);
    } finally {
      await gw.close();
      await agent.close();
    }
  }, 40_000);
});

const SECRET = 'recording-test-secret-0123456789';
const jwt = () =>
  new SignJWT({ sub: 'ops' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('5m').sign(new TextEncoder().encode(SECRET));

describe('GET /v1/calls/{id}/recording across instances, with auth, and retention', () => {
  it('is authorised, forwarded by another instance, and swept when older than RECORDINGS_MAX_AGE_S', async () => {
    const a = await startGateway({ authSecret: SECRET, instance: 'gw-a' });
    const a0 = a.gw.settings.recordings;
    const b = await startGateway({ authSecret: SECRET, instance: 'gw-b', peers: [{ name: 'gw-a', url: a.url }] });
    try {
      const token = await jwt();
      const caller = await RtpCaller.place({
        gateway: a.url,
        transport: 'ws',
        edgeUrl: `${a.url.replace(/^http/, 'ws')}/v1/edge?token=${token}`,
        route: { agent: { url: 'builtin:echo' }, record: { caller: 'denoised' } },
      });
      const call = a.gw.calls.get(caller.callId)!;
      await caller.stream(speech.subarray(0, 8000 * 2));
      await caller.hangup();
      await until(() => call.state === 'closed', 5000, 'the call to end');
      await call.record.finished;
      const path = a.gw.recordings.pathOf(call.id)!;
      const onDisk = await readFile(path);
      expect(call.record.recording).toMatchObject({ url: `/v1/calls/${call.id}/recording`, left: 'caller_denoised', bytes: onDisk.length });

      // Asked of the other instance: 401 without a token, else forwarded to the one that has it.
      expect((await fetch(`${b.url}/v1/calls/${call.id}/recording`)).status).toBe(401);
      const fwd = await fetch(`${b.url}/v1/calls/${call.id}/recording`, { headers: { authorization: `Bearer ${token}` } });
      expect(fwd.status).toBe(200);
      expect(Buffer.from(await fwd.arrayBuffer()).equals(onDisk)).toBe(true);
      const { left } = stereo(onDisk);
      expect(maxAbs(left, 0)).toBeGreaterThan(1000); // the denoised caller is there

      // Retention: once older than RECORDINGS_MAX_AGE_S the sweep removes it; then it is gone from every instance.
      expect(a0.maxAgeS).toBeGreaterThan(1);
      const old = (Date.now() - 2 * a0.maxAgeS * 1000) / 1000;
      await utimes(path, old, old);
      expect((await a.gw.recordings.sweep()).deleted).toBe(1);
      await expect(stat(path)).rejects.toThrow();
      const gone = await fetch(`${b.url}/v1/calls/${call.id}/recording`, { headers: { authorization: `Bearer ${token}` } });
      expect(gone.status).toBe(404);
      expect(await counter(a.gw, 'gateway_recording_bytes_total')).toBe(onDisk.length - 44);
    } finally {
      await a.gw.close();
      await b.gw.close();
    }
  }, 30_000);
});
