import type { Metrics } from '../metrics.js';
import type { EdgeCodecName } from '../media/edgeCodecs.js';
import { FRAME_MS } from '../media/PlayoutClock.js';
import { callQuality, G711_PLC, LatencyHistogram, type G107Codec, type LatencySummary, type QualityScore } from '../quality/index.js';
import type { Call } from './Call.js';

/** Barge-ins whose playedMs a report lists (the count goes on beyond). */
const MAX_BARGE_INS_LISTED = 100;

/**
 * G.107 codec profile per edge codec: G.711 and 8 kHz linear PCM with the gateway's concealment
 * (Ie 0, Bpl 25.1, G.113 Appendix I). Opus and 16 kHz linear are wideband: the 93.2-based
 * narrowband scale does not apply (see quality/eModel.ts), so only rtpengine's score is given.
 */
const G107_PROFILE: Record<EdgeCodecName, Readonly<G107Codec> | null> = {
  PCMU: G711_PLC,
  PCMA: G711_PLC,
  slin8: G711_PLC,
  opus: null,
  slin16: null,
};

export interface LatencyReport extends LatencySummary {
  /** the chain's fixed algorithmic delay, ms, included in the percentiles */
  algorithmicMs: number;
}

/** One direction's line figures and scores. */
export interface DirectionQuality {
  /** RFC 3550 A.3 loss over the call, percent (inbound: ours; outbound: the far end's RTCP reports) */
  lossPercent: number;
  /** RFC 3550 A.8 interarrival jitter, ms: the last estimate, its mean over the call and its largest */
  jitterMs: { last: number; mean: number; max: number };
  score: QualityScore;
}

export interface QualityReport {
  /** caller → gateway → agent */
  inbound: DirectionQuality & {
    packets: { expected: number; received: number; lost: number; late: number; duplicate: number };
    /** 20 ms frames synthesised for lost or late packets */
    concealedFrames: number;
    /** packet arrival → its frame written to the agent, plus the chain's algorithmic delay, ms */
    latencyMs: LatencyReport | null;
  };
  /** agent → gateway → caller; line figures only where the far end sends RTCP reports */
  outbound: Partial<DirectionQuality> & {
    packets: { sent: number };
    /** ticks where agent audio ran out before the frame was full */
    underruns: number;
    /** agent audio received → first packet carrying it sent (pacing behind earlier audio included), plus the resampler's delay, ms */
    latencyMs: LatencyReport | null;
    /** RTCP receiver reports about our stream */
    reports: number;
  };
  /** RTCP round trip (RFC 3550 §6.4.1), ms; null where the edge has no RTCP or the far end sent no reports */
  rttMs: { last: number; mean: number; min: number; max: number } | null;
  bargeIns: { count: number; playedMs: number[] };
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/**
 * Per-call quality, per direction: RFC 3550 loss and jitter (the inbound leg's ReceiverStats; the
 * far end's RTCP reports for our stream), concealment and underruns, the RTCP round trip, added
 * latency percentiles (fixed-bucket histograms: nothing allocated per frame), barge-ins with their
 * playedMs, and E-model scores (quality/eModel.ts). Live in GET /v1/calls/{id}, in the end-of-call
 * log line and report, and in /metrics histograms once the call ends.
 */
export class CallQuality {
  readonly #call: Call;
  readonly #m: Metrics;
  readonly #inbound = new LatencyHistogram();
  readonly #outbound = new LatencyHistogram();
  #underruns = 0;
  #bargeIns = 0;
  readonly #playedMs: number[] = [];

  constructor(call: Call, metrics: Metrics) {
    this.#call = call;
    this.#m = metrics;
  }

  /** A caller frame reached the agent `ms` after its packet arrived. */
  toAgent(ms: number): void {
    this.#inbound.observe(ms);
    this.#m.inboundLatency.observe(ms / 1000);
  }

  /** Agent audio started playing `ms` after it arrived. */
  started(ms: number): void {
    this.#outbound.observe(ms);
    this.#m.outboundLatency.observe(ms / 1000);
  }

  underrun(): void {
    this.#underruns++;
    this.#m.underruns.inc();
  }

  bargeIn(playedMs: number): void {
    this.#bargeIns++;
    if (this.#playedMs.length < MAX_BARGE_INS_LISTED) this.#playedMs.push(playedMs);
  }

  /** The figures as of now. */
  report(): QualityReport {
    const call = this.#call;
    const rx = call.inbound.receiver;
    const st = call.inbound.stats;
    const rtcp = call.edge.rtcp;
    const rtt = rtcp?.roundTrip;
    const rttMs = rtt === undefined || rtt.count === 0 ? null : rtt.meanMs!;
    const codec = G107_PROFILE[call.codec];
    const inDelay = call.inbound.delayMs;
    const inLatency = latency(this.#inbound, inDelay);
    const expected = rx.totalExpected;
    // What the agent hears lost: the RFC's loss plus packets too late for the reorder window
    // (concealed like lost ones), G.107's Ppl "after jitter-buffer discards".
    const heardLoss = expected > 0 ? Math.min(100, rx.lossPercent + (100 * st.late) / expected) : 0;
    const inbound = {
      lossPercent: round2(rx.lossPercent),
      jitterMs: { last: round2(rx.jitterMs), mean: round2(rx.meanJitterMs), max: round2(rx.maxJitterMs) },
      // d = packetization + the gateway's delay (median) + half the round trip when known.
      score: rounded(
        callQuality({
          rttMs,
          jitterMs: rx.meanJitterMs,
          lossPercent: heardLoss,
          localDelayMs: FRAME_MS + (inLatency?.p50 ?? inDelay),
          codec,
        }),
      ),
      packets: {
        expected,
        received: rx.totalReceived,
        lost: Math.max(0, expected - rx.totalReceived),
        late: st.late,
        duplicate: st.duplicate,
      },
      concealedFrames: st.concealed,
      latencyMs: inLatency,
    };
    const reports = rtcp?.remoteReports ?? 0;
    const outLine: Partial<DirectionQuality> = {};
    if (rtcp !== undefined && reports > 0) {
      const j = rtcp.remoteJitterMs;
      const loss = Number.isNaN(rtcp.remoteLossPercent) ? 100 * rtcp.remoteFractionLost : rtcp.remoteLossPercent;
      outLine.lossPercent = round2(loss);
      outLine.jitterMs = { last: round2(j.last), mean: round2(j.mean), max: round2(j.max) };
      // Our side adds packetization, the resampler and the codec (Opus 6.5 ms); the far end's jitter buffer is its own.
      outLine.score = rounded(
        callQuality({ rttMs, jitterMs: j.mean, lossPercent: loss, localDelayMs: FRAME_MS + call.playout.delayMs, codec }),
      );
    }
    return {
      inbound,
      outbound: {
        ...outLine,
        packets: { sent: call.stats.packetsOut },
        underruns: this.#underruns,
        latencyMs: latency(this.#outbound, call.playout.delayMs),
        reports,
      },
      rttMs:
        rtt === undefined || rtt.count === 0
          ? null
          : { last: round2(rtt.lastMs!), mean: round2(rtt.meanMs!), min: round2(rtt.minMs!), max: round2(rtt.maxMs!) },
      bargeIns: { count: this.#bargeIns, playedMs: [...this.#playedMs] },
    };
  }

  /** The call ended: its MOS, loss and jitter go into the /metrics histograms (one observation per call and direction). */
  observe(q: QualityReport): void {
    const m = this.#m;
    const dirs: [string, Partial<DirectionQuality>][] = [
      ['in', q.inbound],
      ['out', q.outbound],
    ];
    for (const [direction, d] of dirs) {
      if (d.score === undefined || d.lossPercent === undefined || d.jitterMs === undefined) continue;
      // A call that never got a packet has nothing to score.
      if (direction === 'in' && q.inbound.packets.expected === 0) continue;
      m.callLoss.observe({ direction }, d.lossPercent / 100);
      m.callJitter.observe({ direction }, d.jitterMs.mean / 1000);
      m.callMos.observe({ direction, model: 'rtpengine' }, d.score.rtpengine.mos);
      if (d.score.g107 !== null) m.callMos.observe({ direction, model: 'g107' }, d.score.g107.mos);
    }
  }
}

/** Scores to 0.01 (R) and 0.001 (MOS): what a report needs, without float noise. */
function rounded(s: QualityScore): QualityScore {
  const g = s.g107;
  return {
    oneWayDelayMs: round2(s.oneWayDelayMs),
    g107: g === null ? null : { r: round2(g.r), mos: Math.round(g.mos * 1000) / 1000, category: g.category },
    rtpengine: { r: round2(s.rtpengine.r), mos: Math.round(s.rtpengine.mos * 1000) / 1000 },
    rttKnown: s.rttKnown,
  };
}

function latency(h: LatencyHistogram, algorithmicMs: number): LatencyReport | null {
  const s = h.summary();
  if (s === null) return null;
  const a = round2(algorithmicMs);
  return {
    count: s.count,
    p50: round2(s.p50 + a),
    p95: round2(s.p95 + a),
    p99: round2(s.p99 + a),
    max: round2(s.max + a),
    mean: round2(s.mean + a),
    algorithmicMs: a,
  };
}
