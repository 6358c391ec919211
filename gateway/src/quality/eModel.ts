/**
 * Per-call quality score: an E-model R and a MOS from the line figures the gateway measures
 * (loss, jitter, RTCP round trip, its own added delay). Two forms, so dashboards can compare:
 *
 * - ITU-T G.107 (the E-model) in the simplified form of Cole & Rosenbluth ("Voice over IP
 *   performance monitoring", ACM SIGCOMM CCR 31(2), 2001), with every term other than delay and
 *   the codec/loss impairment at the G.107 §7 default values (R0 − Is = 93.2):
 *     R = 93.2 − Id − Ie,eff
 *     Id = 0.024·d + 0.11·(d − 177.3)·H(d − 177.3)       d: one-way mouth-to-ear delay, ms
 *     Ie,eff = Ie + (95 − Ie)·Ppl/(Ppl/BurstR + Bpl)      G.107 eq. 7-29; Ppl: loss, %
 * - rtpengine's MOS (daemon/ssrc.c, mos_calc_legacy; the PingPlotter / Twilio shape):
 *     eff = rtt + 2·jitter + 10                            ms
 *     R = 93.2 − eff/40 if eff < 160, else 93.2 − (eff − 120)/10
 *     R −= 2.5·loss%
 *
 * Both map R to MOS with G.107 Annex B: MOS = 1 + 0.035R + 7·10⁻⁶·R(R − 60)(100 − R), 1 below
 * R = 0, 4.5 above R = 100 (and never below 1: the cubic dips under it for small R).
 *
 * These are narrowband (3.1 kHz) scales. Nothing here is on the per-packet path; a score
 * allocates one small object, meant for once a second or once a call.
 */

/** Codec figures for G.107's Ie,eff (G.113 Appendix I): equipment impairment and packet-loss robustness. */
export interface G107Codec {
  /** equipment impairment factor Ie, R points, without loss */
  ie: number;
  /** packet-loss robustness factor Bpl: how well the codec and its concealment absorb random loss */
  bpl: number;
}

/**
 * G.711 with packet-loss concealment (G.711 Appendix I PLC): Ie = 0, Bpl = 25.1, from ITU-T
 * G.113 Appendix I, Table I.3 (provisional planning values). The gateway conceals lost G.711
 * frames, so this is its profile for PCMU/PCMA.
 */
export const G711_PLC: Readonly<G107Codec> = Object.freeze({ ie: 0, bpl: 25.1 });

/** G.711 with lost packets replaced by silence: Ie = 0, Bpl = 4.3 (G.113 Appendix I, Table I.3). */
export const G711_NO_PLC: Readonly<G107Codec> = Object.freeze({ ie: 0, bpl: 4.3 });

// Opus has no narrowband Ie/Bpl in G.113: its published impairment factors are on the wideband and
// fullband scales (Ie,WB / Ie,FB of G.107.1 / G.107.2, R up to 129 and 148), which do not transfer
// to this 93.2-based formula, so no Opus profile is offered. For Opus calls use `rtpengineR`
// (codec-agnostic) or pass figures from your own P.833-style tests.

/** G.107's d knee: delay above this (ms, one way) costs an extra 0.11 R per ms. */
export const G107_DELAY_KNEE_MS = 177.3;

export interface G107Input {
  /** one-way mouth-to-ear delay d, ms: network (≈ RTT/2) + packetization + buffering + processing */
  oneWayDelayMs: number;
  /** packet loss Ppl, percent (0..100), after any jitter-buffer discards */
  lossPercent: number;
  /** codec profile; G.711 with PLC when omitted */
  codec?: Readonly<G107Codec>;
  /** burst ratio BurstR (G.107 §7.6): 1 for random loss (the default), > 1 for bursty */
  burstR?: number;
}

/** G.107 delay impairment Id (simplified), R points, for a one-way delay in ms. */
export function g107DelayImpairment(oneWayDelayMs: number): number {
  const d = Math.max(0, oneWayDelayMs);
  return 0.024 * d + (d > G107_DELAY_KNEE_MS ? 0.11 * (d - G107_DELAY_KNEE_MS) : 0);
}

/** G.107 effective equipment impairment Ie,eff (eq. 7-29), R points. */
export function g107EffectiveImpairment(lossPercent: number, codec: Readonly<G107Codec> = G711_PLC, burstR = 1): number {
  const ppl = clamp(lossPercent, 0, 100);
  const b = burstR > 0 ? burstR : 1;
  return codec.ie + ((95 - codec.ie) * ppl) / (ppl / b + codec.bpl);
}

/** Simplified G.107 rating R (may be negative for very bad lines). */
export function g107R(input: G107Input): number {
  return 93.2 - g107DelayImpairment(input.oneWayDelayMs) - g107EffectiveImpairment(input.lossPercent, input.codec, input.burstR);
}

export interface RtpengineInput {
  /**
   * round-trip time, ms. rtpengine uses the end-to-end RTT (both legs' RTCP); 0 gives its
   * "MOS-LQ" (listening quality, delay ignored), a measured RTT its "MOS-CQ".
   */
  rttMs: number;
  /** interarrival jitter (RFC 3550 A.8), ms */
  jitterMs: number;
  /** packet loss, percent (0..100); rtpengine takes it from the RR's fraction lost × 100/256 */
  lossPercent: number;
}

/** rtpengine's R (daemon/ssrc.c, mos_calc_legacy). */
export function rtpengineR(input: RtpengineInput): number {
  const eff = Math.max(0, input.rttMs) + 2 * Math.max(0, input.jitterMs) + 10;
  const r = eff < 160 ? 93.2 - eff / 40 : 93.2 - (eff - 120) / 10;
  return r - 2.5 * clamp(input.lossPercent, 0, 100);
}

/** MOS (1..4.5) from R, G.107 Annex B eq. B-4. */
export function mosFromR(r: number): number {
  if (!(r > 0)) return 1;
  if (r >= 100) return 4.5;
  const mos = 1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r);
  return clamp(mos, 1, 4.5);
}

/**
 * ITU-T G.109 Table 1 categories of speech transmission quality by R, for labels on the call page
 * and logs: best ≥ 90, high ≥ 80, medium ≥ 70, low ≥ 60, poor below ("not recommended" < 50).
 */
export type G109Category = 'best' | 'high' | 'medium' | 'low' | 'poor';
export function g109Category(r: number): G109Category {
  if (r >= 90) return 'best';
  if (r >= 80) return 'high';
  if (r >= 70) return 'medium';
  if (r >= 60) return 'low';
  return 'poor';
}

/** What a call measured, for `callQuality`. */
export interface CallQualityInput {
  /** RTCP round trip to the peer, ms; null when the peer sends no RTCP (rtpengine's MOS-LQ then) */
  rttMs: number | null;
  /** interarrival jitter of the stream being scored (RFC 3550 A.8), ms */
  jitterMs: number;
  /** packet loss of that stream, percent (0..100) */
  lossPercent: number;
  /**
   * one-way delay this end adds on top of the network, ms: packetization (20 ms frames), jitter
   * buffering, DSP. G.107's d is this plus half the RTT (or this alone without RTCP).
   */
  localDelayMs: number;
  /** codec profile for G.107; null when none applies (e.g. Opus), which leaves `g107` null */
  codec: Readonly<G107Codec> | null;
  /** G.107 burst ratio; 1 (random loss) by default */
  burstR?: number;
}

export interface QualityScore {
  /** the one-way delay d used for G.107, ms */
  oneWayDelayMs: number;
  /** simplified G.107; null without a codec profile */
  g107: { r: number; mos: number; category: G109Category } | null;
  /** rtpengine's formula (with RTT 0 when none was measured) */
  rtpengine: { r: number; mos: number };
  /** false when no RTT was measured: the scores then ignore network delay */
  rttKnown: boolean;
}

/** Both scores for one direction of a call. */
export function callQuality(input: CallQualityInput): QualityScore {
  const rtt = input.rttMs ?? 0;
  const oneWayDelayMs = Math.max(0, input.localDelayMs) + Math.max(0, rtt) / 2;
  let g107: QualityScore['g107'] = null;
  if (input.codec !== null) {
    const r = g107R({ oneWayDelayMs, lossPercent: input.lossPercent, codec: input.codec, burstR: input.burstR ?? 1 });
    g107 = { r, mos: mosFromR(r), category: g109Category(r) };
  }
  const rr = rtpengineR({ rttMs: rtt, jitterMs: input.jitterMs, lossPercent: input.lossPercent });
  return { oneWayDelayMs, g107, rtpengine: { r: rr, mos: mosFromR(rr) }, rttKnown: input.rttMs !== null };
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : Number.isNaN(v) ? lo : v;
}
