import dgram from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { g711DecodeInto, g711EncodeInto, readWav, writeRtp } from '../../../codecs/src/index.js';
import { sleep } from '../../../testkit/RtpCaller.js';
import { TestAgent } from '../../../testkit/TestAgent.js';
import { xcorrPeak } from '../../../test/helpers/audio.js';
import { Rows, type ProbeResult } from './report.js';
import { Target, type Checkout } from './target.js';

const voice = (name: string) => readWav(fileURLToPath(new URL(`../../../test/fixtures/audio/${name}`, import.meta.url))).samples;
/** 2 s of each voice, µ-law 8 kHz: the phone's and the stranger's, different talkers. */
const FRAMES = 100;
const PHONE = voice('caller-en-f-8k.wav').subarray(8000, 8000 + 160 * FRAMES);
const STRANGER = voice('caller-en-gb-8k.wav').subarray(8000, 8000 + 160 * FRAMES);

interface Peer {
  sock: dgram.Socket;
  received: number;
  ssrc: number;
  seq: number;
}

async function peer(ssrc: number): Promise<Peer> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  const p: Peer = { sock, received: 0, ssrc, seq: 0 };
  sock.on('message', () => p.received++);
  return p;
}

/** One 20 ms µ-law packet of frame k of `pcm`. */
function send(p: Peer, pcm: Int16Array, k: number, port: number): void {
  const payload = new Uint8Array(160);
  g711EncodeInto('ulaw', pcm.subarray(160 * k, 160 * (k + 1)), payload);
  const buf = new Uint8Array(12 + 160);
  writeRtp(buf, 0, { marker: p.seq === 0, payloadType: 0, sequenceNumber: p.seq, timestamp: 160 * p.seq, ssrc: p.ssrc }, payload);
  p.seq++;
  p.sock.send(buf, port, '127.0.0.1');
}

/** What the agent heard (8 kHz), correlated with what each side sent (after µ-law, as the gateway decodes it). */
function whose(heard: Int16Array): { phone: number; stranger: number } {
  const ref = (pcm: Int16Array) => {
    const u = new Uint8Array(pcm.length);
    g711EncodeInto('ulaw', pcm, u);
    const out = new Int16Array(pcm.length);
    g711DecodeInto('ulaw', u, out);
    return out;
  };
  // the agent's audio trails by the inbound delay (≈ 14 ms, more under load): lags up to 250 ms
  const peak = (pcm: Int16Array) => (heard.length < 1600 ? 0 : Math.max(0, xcorrPeak(ref(pcm).subarray(0, 8000), heard, 2000).peak));
  return { phone: peak(PHONE), stranger: peak(STRANGER) };
}

/**
 * Finding 2: a call with `remote` naming the phone; a stranger sends to the call's RTP port first.
 * (a) the stranger sends one packet, then the phone talks for 2 s;
 * (b) the stranger sends first and keeps talking, interleaved with the phone.
 * Read: packets dropped as RTP_FOREIGN_SOURCE, frames at the agent, and whose voice it heard.
 */
export async function sourceProbe(co: Checkout): Promise<ProbeResult> {
  const agent = await TestAgent.listen();
  const t = await Target.start(co);
  const r = new Rows();
  try {
    for (const keepsTalking of [false, true]) {
      const phone = await peer(42);
      const stranger = await peer(666);
      const route = { agent: { url: agent.url }, sampleRate: 8000, denoise: false, bargeIn: { enabled: false } };
      const res = await t.api('POST', '/v1/calls', { codec: 'PCMU', remote: `127.0.0.1:${phone.sock.address().port}`, route });
      if (res.status !== 201) throw new Error(`POST /v1/calls → ${res.status} ${JSON.stringify(res.json)}`);
      const callId = res.json['callId'] as string;
      const port = (res.json['rtp'] as { port: number }).port;
      const s = await agent.session(callId);
      const foreign0 = await t.metric('gateway_drops_total', 'reason="RTP_FOREIGN_SOURCE"');
      send(stranger, STRANGER, 0, port);
      await sleep(40);
      const t0 = performance.now();
      for (let k = 0; k < FRAMES; k++) {
        const wait = t0 + 20 * k - performance.now();
        if (wait > 1) await sleep(wait);
        send(phone, PHONE, k, port);
        if (keepsTalking && k + 1 < FRAMES) send(stranger, STRANGER, k + 1, port);
      }
      await sleep(400);
      const foreign = (await t.metric('gateway_drops_total', 'reason="RTP_FOREIGN_SOURCE"')) - foreign0;
      const heard = s.audio();
      const w = whose(heard);
      const sent = keepsTalking ? `1 + ${FRAMES - 1}` : '1';
      const tag = keepsTalking ? '(b) stranger first, then keeps talking' : '(a) one stranger packet first';
      r.add(`${tag}: packets sent (phone / stranger)`, `${FRAMES} / ${sent}`);
      r.add(`${tag}: dropped as RTP_FOREIGN_SOURCE`, foreign);
      r.add(`${tag}: frames reaching the agent`, s.frames.length);
      r.add(`${tag}: agent audio × phone's voice (xcorr)`, Math.round(w.phone * 100) / 100);
      r.add(`${tag}: agent audio × stranger's voice (xcorr)`, Math.round(w.stranger * 100) / 100);
      r.add(
        `${tag}: whose voice the agent heard`,
        w.phone > 0.5 && w.phone > w.stranger ? 'phone' : w.stranger > 0.5 ? 'stranger' : 'neither',
      );
      r.add(
        `${tag}: packets the gateway sent to the phone / the stranger`,
        `${phone.received > 0 ? 'phone' : '—'} / ${stranger.received > 0 ? 'stranger' : '—'}`,
      );
      await t.api('DELETE', `/v1/calls/${callId}`);
      phone.sock.close();
      stranger.sock.close();
    }
  } finally {
    await t.stop();
    await agent.close();
  }
  return r.result('2', 'a stranger sends to the RTP port before the phone named by `remote`');
}
