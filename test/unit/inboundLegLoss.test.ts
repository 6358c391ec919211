import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRtpPacket, g711EncodeInto, loadDenoiserModule, loadResamplerModule } from '../../codecs/src/index.js';
import { InboundLeg } from '../../gateway/src/call/InboundLeg.js';
import { DspPool } from '../../gateway/src/media/DspPool.js';
import { COMFORT_NOISE_PAYLOAD_TYPE } from '../../gateway/src/media/edgeCodecs.js';
import { Metrics } from '../../gateway/src/metrics.js';
import { gaussian, rng } from '../helpers/audio.js';

/**
 * What the inbound leg tells barge-in of a gap in the caller's packets (`cancelled`'s `lostMs`):
 * packets lost inside a talkspurt are lost time, 20 ms each, told with the audio after them; a gap
 * before a talkspurt's first packet (RFC 3551 §4.1: marked) or before comfort noise (RFC 3389) is a
 * silence the phone did not send, and none of it is told as lost. Real G.711 packets, in-thread DSP.
 */
describe('InboundLeg: losses told to barge-in', () => {
  let pool: DspPool;
  let speex: Awaited<ReturnType<typeof loadResamplerModule>>;
  beforeAll(async () => {
    const [resampler, rnnoise] = await Promise.all([loadResamplerModule(), loadDenoiserModule()]);
    speex = resampler;
    pool = await DspPool.create({ speex, rnnoise }, 0);
  });
  afterAll(async () => {
    await pool.close();
  });

  /**
   * Sends the packets numbered `seqs` (`marked`: with the marker bit; `cn`: comfort noise), each
   * 20 ms of noise at its time; returns the `lostMs` told with each packet of audio, in order.
   */
  const run = (seqs: number[], marked: number[] = [], cn: number[] = []) => {
    const told: number[] = [];
    let now = 0;
    const leg = new InboundLeg(
      { pool, metrics: new Metrics(), speex, now: () => now },
      { codec: 'PCMU', payloadType: 0, dtmfPayloadType: 101, agentRate: 16000, denoise: false, quality: 3 },
      {
        frame: () => {},
        dtmf: () => {},
        echoPath: () => {},
        cancelled: (_judged, _line, _rate, _atMs, lostMs) => told.push(lostMs),
        comfortNoise: () => {},
        drop: () => {},
        played: () => {},
        ended: () => {},
        dsp: { restarted: () => {}, failed: () => {} },
      },
    );
    const g = gaussian(rng(3));
    const pcm = new Int16Array(160);
    const p = createRtpPacket();
    p.ssrc = 7;
    for (const s of seqs) {
      now = 20 * s;
      const comfort = cn.includes(s);
      for (let i = 0; i < 160; i++) pcm[i] = Math.round(1000 * g());
      const payload = new Uint8Array(160);
      g711EncodeInto('ulaw', pcm, payload);
      p.payloadType = comfort ? COMFORT_NOISE_PAYLOAD_TYPE : 0;
      p.payload = comfort ? Uint8Array.of(50) : payload;
      p.marker = marked.includes(s);
      p.sequenceNumber = s;
      p.timestamp = 160 * s;
      leg.media(p, now);
    }
    // a gap is given up as lost once three newer packets have come (Reorderer's window): all were
    leg.tick(now + 1000);
    const lost = leg.stats.lost;
    leg.close();
    return { told, lost };
  };

  it('two packets lost inside a talkspurt: the packet after them tells 40 ms lost, every other none', () => {
    const { told, lost } = run([0, 1, 2, 3, 4, 5, 8, 9, 10, 11]);
    expect(lost).toBe(2);
    expect(told).toEqual([0, 0, 0, 0, 0, 0, 40, 0, 0, 0]);
  });

  it('packets lost before a talkspurt begins (marked) or before comfort noise: counted, none told as lost', () => {
    const marked = run([0, 1, 2, 3, 4, 5, 8, 9, 10, 11], [8]);
    expect(marked.lost).toBe(2);
    expect(marked.told).toEqual(Array(10).fill(0));
    const comfort = run([0, 1, 2, 3, 4, 5, 8, 9, 10, 11, 12], [9], [8]);
    expect(comfort.lost).toBe(2);
    expect(comfort.told).toEqual(Array(10).fill(0));
  });
});
