import { comfortNoiseLevel, type RtpPacket } from '../../../codecs/src/index.js';
import type { EdgeSink } from '../edge/Edge.js';
import type { GatewayErrorCode } from '../errors.js';
import type { Metrics } from '../metrics.js';
import type { ChainEvents, DspPool, InboundChain } from '../media/DspPool.js';
import { CODEC_INFO, COMFORT_NOISE_PAYLOAD_TYPE, createDecoder } from '../media/edgeCodecs.js';
import type { EdgeCodecInfo, EdgeCodecName, FrameDecoder } from '../media/edgeCodecs.js';
import { FrameFlags } from '../media/dspProtocol.js';
import { DtmfReceiver } from '../media/DtmfReceiver.js';
import type { FrameSink, SpeexModule } from '../media/InboundDsp.js';
import { LineEcho, type EchoPathSink } from '../media/LineEcho.js';
import { Reorderer } from '../media/Reorderer.js';
import { DenoiseReport, type DenoiseChange } from './DenoiseReport.js';
import { ReceiverStats } from '../quality/ReceiverStats.js';

export interface InboundOptions {
  codec: EdgeCodecName;
  payloadType: number;
  dtmfPayloadType: number;
  /** Hz of the agent's PCM16 */
  agentRate: number;
  denoise: boolean | 'auto';
  /** speex quality */
  quality: number;
}

export interface InboundDeps {
  pool: DspPool;
  metrics: Metrics;
  /** this thread's resampler module (the echo canceller's band on wideband edges) */
  speex: SpeexModule;
  /** the clock, ms (performance.now; the barge-in evaluation runs calls in simulated time) */
  now: () => number;
}

export interface InboundEvents extends EchoPathSink {
  /** One 20 ms frame at the agent rate, with voice probabilities and raw levels per 10 ms (borrowed). */
  frame: FrameSink;
  /** A caller digit (RFC 4733 end packet, or out of band from the edge). */
  dtmf(digit: string, durationMs: number): void;
  /**
   * Echo-cancelled caller audio for barge-in (borrowed), at the canceller's rate, its first sample
   * at `atMs` as the agent frames are timed: with the residual echo suppressed (`judged`), and
   * without (`line`, its first sample at `lineAtMs`, 4–8 ms later: the background and the loss the
   * line shows are measured on it, LineEcho). `lostMs`: the last of the gap before it (ms) that was
   * packets lost and concealed, not a silence the phone did not send.
   */
  cancelled(judged: Int16Array, line: Int16Array, rate: number, atMs: number, lostMs: number, lineAtMs: number): void;
  /** The caller's phone stopped sending for a silence and stated its noise level (RFC 3389 §3), dBov. */
  comfortNoise(levelDb: number): void;
  /** Input refused, by stable code. */
  drop(code: GatewayErrorCode): void;
  /** The far end confirmed playout of a mark (buffered edges). */
  played(name: string): void;
  /** The edge is gone. */
  ended(reason: 'edge_stop' | 'edge_closed'): void;
  /** The DSP chain's worker died and was replaced, or the chain cannot run at all. */
  dsp: Omit<ChainEvents, 'overrun'>;
  /** denoise "auto" switched RNNoise on or off (see DenoiseReport). */
  denoise?(change: DenoiseChange): void;
}

/** Lost packets concealed at most; beyond that the concealers are silent anyway, and the agent is better served by fewer, honest frames. */
const MAX_CONCEALED = 10;

/**
 * The caller's side of a call, from the edge to the agent: payload types checked, sources
 * followed, RFC 3550 loss and jitter measured (one ReceiverStats, which RTCP reports read too),
 * packets reordered (losses concealed), decoded, the agent's echo cancelled (LineEcho), then the
 * DSP chain (denoise, resample, voice probability) on a worker. Implements the sink the edge
 * delivers to.
 */
export class InboundLeg implements EdgeSink {
  readonly codec: EdgeCodecInfo;
  readonly #o: InboundOptions;
  readonly #ev: InboundEvents;
  readonly #m: Metrics;
  readonly #now: () => number;
  readonly #decoder: FrameDecoder;
  readonly #reorder: Reorderer;
  readonly #dsp: InboundChain;
  /** line echo cancellers: barge-in's (at LineEcho's `judgeRate`), and the agent's audio cancelled in place */
  readonly #echo: LineEcho;
  readonly #pcm = new Int16Array(5760); // one decoded packet, up to 120 ms at 48 kHz
  #ssrc = -1;
  readonly #digits: DtmfReceiver;
  /** RFC 3550 reception statistics (loss, jitter, SR bookkeeping): the call's one source, which the edge's RTCP reports read */
  readonly receiver: ReceiverStats;
  /** Sees each decoded packet (edge rate, before echo cancelling) and its RTP timestamp: the call recorder's tap. Borrowed. */
  tap: ((pcm: Int16Array, ts: number, arrivalMs: number) => void) | null = null;
  #lastPacketAt: number;
  #lastSoundAt: number;
  #closed = false;
  /** the last packet's duration, and the lost packets concealed since (ms) */
  #packetMs = 20;
  #lostMs = 0;
  /** the route's denoise mode, what it does now, the call's SNR, RNNoise shed under overload */
  readonly denoise: DenoiseReport;
  /** bytesIn: payload bytes */
  readonly stats = { packetsIn: 0, bytesIn: 0, lost: 0, late: 0, duplicate: 0, concealed: 0, dtmfIn: 0 };

  constructor(deps: InboundDeps, opts: InboundOptions, events: InboundEvents) {
    this.#o = opts;
    this.#ev = events;
    this.#m = deps.metrics;
    this.#now = deps.now;
    this.codec = CODEC_INFO[opts.codec];
    this.receiver = new ReceiverStats({ clockRate: this.codec.clockRate, minSequential: 1 });
    this.#lastPacketAt = deps.now();
    this.#lastSoundAt = this.#lastPacketAt;
    this.#digits = new DtmfReceiver(this.codec.clockRate, deps.now, {
      digit: (digit, durationMs) => {
        this.stats.dtmfIn++;
        events.dtmf(digit, durationMs);
      },
      drop: (code) => events.drop(code),
    });
    this.#decoder = createDecoder(opts.codec);
    this.#echo = new LineEcho(deps.speex, this.codec.pcmRate, this.codec.clockRate, opts.quality);
    this.#reorder = new Reorderer({ packet: this.#onOrderedPacket.bind(this), lost: this.#onLost.bind(this) });
    this.denoise = new DenoiseReport(opts.denoise);
    this.#dsp = deps.pool.open(
      { inRate: this.codec.pcmRate, outRate: opts.agentRate, denoise: opts.denoise, quality: opts.quality },
      (frame, vad, levels, arrivalMs) => {
        const change = this.denoise.frame(this.#dsp.info.flags, this.#dsp.info.snrDb);
        if ((this.#dsp.info.flags & FrameFlags.shed) !== 0) this.#m.dspShed.inc();
        if (change !== null) events.denoise?.(change);
        events.frame(frame, vad, levels, arrivalMs);
      },
      { overrun: () => events.drop('DSP_OVERLOAD'), restarted: () => events.dsp.restarted(), failed: (m) => events.dsp.failed(m) },
    );
  }

  /** Algorithmic delay of the chain from edge to agent, ms (Opus: the echo canceller's band split first). */
  get delayMs(): number {
    return this.#echo.delayMs + this.#dsp.delayMs;
  }

  /** RFC 3550 interarrival jitter, ms. */
  get jitterMs(): number {
    return this.receiver.jitterMs;
  }

  /** What the echo canceller has measured of the echo path (NaN until it has locked on). */
  get echoPath(): { erlDb: number; erleDb: number; delayMs: number } {
    const a = this.#echo.aec;
    return !a.locked ? { erlDb: NaN, erleDb: NaN, delayMs: NaN } : { erlDb: a.erlDb, erleDb: a.erleDb, delayMs: (1000 * a.delay) / a.rate };
  }

  /** ms since the last valid packet from the edge (comfort noise keeps a call alive). */
  idleMs(nowMs: number): number {
    return nowMs - this.#lastPacketAt;
  }

  /** ms since the last packet with sound in it: comfort noise is the caller's silence. */
  silentMs(nowMs: number): number {
    return nowMs - this.#lastSoundAt;
  }

  /**
   * What the far end plays at `playsAtMs` (edge rate, as it decodes it): the canceller's reference.
   * Returns it in the band barge-in hears the line in (LineEcho `reference`: on a narrow edge the
   * frame itself, else a view).
   */
  reference(playsAtMs: number, frame: Int16Array): Int16Array {
    return this.#echo.reference(playsAtMs, frame);
  }

  /** Clock tick: gaps waiting too long for a late packet are given up as lost. */
  tick(nowMs: number): void {
    this.#reorder.flushStale(nowMs);
  }

  // EdgeSink

  media(p: RtpPacket, arrivalMs: number): void {
    if (this.#closed) return;
    const pt = p.payloadType;
    if (pt !== this.#o.payloadType && pt !== this.#o.dtmfPayloadType && pt !== COMFORT_NOISE_PAYLOAD_TYPE)
      return this.#ev.drop('RTP_UNKNOWN_PAYLOAD_TYPE');
    if (p.ssrc !== this.#ssrc) {
      if (this.#ssrc >= 0) {
        if (pt !== this.#o.payloadType) return this.#fromAnotherSource(p, arrivalMs);
        // A new source (transfer, re-INVITE, edge restart): start its sequence afresh.
        this.#ev.drop('RTP_SSRC_CHANGED');
        this.#reorder.reset();
        this.#echo.restart();
      }
      this.#ssrc = p.ssrc;
    }
    this.stats.packetsIn++;
    this.stats.bytesIn += p.payload.length;
    this.#m.packets.inc({ direction: 'in' });
    this.#lastPacketAt = arrivalMs;
    if (pt !== COMFORT_NOISE_PAYLOAD_TYPE) this.#lastSoundAt = arrivalMs;
    // RFC 4733 events repeat their start timestamp, and comfort noise is on 8 kHz whatever the
    // codec's clock: counted, but not for jitter (A.8).
    this.receiver.onRtp(p.ssrc, p.sequenceNumber, p.timestamp, arrivalMs, pt === this.#o.payloadType);
    const verdict = this.#reorder.push(p.sequenceNumber, p.payloadType, p.timestamp, p.payload, arrivalMs, p.marker);
    if (verdict === 'late') {
      this.stats.late++;
      this.#ev.drop('RTP_LATE');
    } else if (verdict === 'duplicate') {
      this.stats.duplicate++;
      this.#ev.drop('RTP_DUPLICATE');
    }
  }

  dtmf(digit: string, durationMs: number): void {
    if (this.#closed) return;
    this.#digits.digit(digit, durationMs);
  }

  played(name: string): void {
    this.#ev.played(name);
  }

  drop(code: GatewayErrorCode): void {
    this.#ev.drop(code);
  }

  ended(reason: 'edge_stop' | 'edge_closed'): void {
    this.#ev.ended(reason);
  }

  #onOrderedPacket(pt: number, ts: number, payload: Uint8Array, arrivalMs: number): void {
    if (pt === this.#o.dtmfPayloadType) return this.#digits.event(ts, payload);
    if (pt === COMFORT_NOISE_PAYLOAD_TYPE) {
      const level = comfortNoiseLevel(payload);
      return level === null ? this.#ev.drop('CODEC_BAD_FRAME') : this.#ev.comfortNoise(level);
    }
    let n: number;
    try {
      n = this.#decoder.decode(payload, this.#pcm);
    } catch {
      this.#ev.drop('CODEC_BAD_FRAME');
      return;
    }
    if (n === 0) return;
    const pcm = this.#pcm.subarray(0, n);
    this.tap?.(pcm, ts, arrivalMs);
    const echo = this.#echo;
    echo.process(pcm, ts, arrivalMs);
    echo.reportPath(this.delayMs, this.#ev);
    this.#ev.cancelled(echo.residual, echo.line, echo.rate, echo.atMs + this.delayMs, this.#lostMs, echo.lineAtMs + this.delayMs);
    this.#lostMs = 0;
    this.#packetMs = (1000 * n) / this.codec.pcmRate;
    if (!this.#dsp.push(pcm, arrivalMs)) this.#ev.drop('DSP_OVERLOAD');
  }

  /**
   * Lost packets are counted; they are concealed only when the packet after them is sound that
   * goes on. Before a talkspurt's first packet (marked, RFC 3551 §4.1), comfort noise (RFC 3389)
   * or a telephone event the caller was silent, as she is while none is sent: a concealed frame
   * there would be her last syllable again.
   */
  #onLost(count: number, nextPt: number, nextMarker: boolean): void {
    this.stats.lost += count;
    if (nextPt !== this.#o.payloadType || nextMarker) return;
    this.#lostMs += count * this.#packetMs;
    const frames = Math.min(count, MAX_CONCEALED);
    const now = this.#now();
    for (let i = 0; i < frames; i++) {
      const pcm = this.#pcm.subarray(0, this.#decoder.conceal(this.#pcm));
      this.stats.concealed++;
      this.#m.concealed.inc();
      this.#echo.conceal(pcm);
      if (!this.#dsp.push(pcm, now)) this.#ev.drop('DSP_OVERLOAD');
    }
  }

  /**
   * A digit or comfort noise from another SSRC than the stream's (a peer's DTMF generator may have
   * its own, as SIPp's capture has): the digit is taken, and neither moves the stream, which would
   * start its sequence afresh and the echo canceller's search over again.
   */
  #fromAnotherSource(p: RtpPacket, arrivalMs: number): void {
    this.#lastPacketAt = arrivalMs;
    if (p.payloadType !== this.#o.dtmfPayloadType) return this.#ev.drop('RTP_FOREIGN_SOURCE');
    this.#m.packets.inc({ direction: 'in' });
    this.#digits.event(p.timestamp, p.payload);
  }

  /** Frees the decoder and the DSP chain. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#dsp.close();
    this.#decoder.close();
    this.#echo.close();
  }
}
