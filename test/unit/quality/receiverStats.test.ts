import { describe, expect, it } from 'vitest';
import { createRtcpReportBlock, ntpFractionFromMs, ntpMiddle32FromMs, ntpSecondsFromMs } from '../../../codecs/src/index.js';
import { ReceiverStats } from '../../../gateway/src/quality/ReceiverStats.js';

/** mulberry32: a small seeded PRNG, so every run simulates the same network. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Arrival {
  /** index of the packet in send order (its unwrapped sequence offset) */
  i: number;
  seq: number;
  ts: number;
  /** unwrapped timestamp, for the independent jitter computation */
  tsAbs: number;
  arrivalMs: number;
}

const CLOCK = 8000;
const PTIME_MS = 20;
const TS_STEP = 160;

/**
 * A G.711 stream of `n` packets every 20 ms, starting near both wrap points (sequence 65000,
 * timestamp 2^32 − 8000) so both wrap during the run. Each packet is lost with probability
 * `loss`, duplicated with probability `dup`, and delayed by a uniform random 0..`jitterMs` ms,
 * which reorders packets whenever the delay spread beats the 20 ms spacing.
 */
function simulate(n: number, loss: number, dup: number, jitterMs: number, seed: number) {
  const rnd = prng(seed);
  const seq0 = 65000;
  const ts0 = 2 ** 32 - 8000;
  const arrivals: Arrival[] = [];
  let lost = 0;
  let dups = 0;
  for (let i = 0; i < n; i++) {
    const sendMs = 1000 + i * PTIME_MS;
    const p = { i, seq: (seq0 + i) & 0xffff, ts: (ts0 + i * TS_STEP) >>> 0, tsAbs: ts0 + i * TS_STEP };
    // Keep the first packets and the last one, so probation and the expected count are exact.
    if (i > 3 && i < n - 1 && rnd() < loss) {
      lost++;
      continue;
    }
    // The first packets arrive undelayed, in order: A.1's probation then spends exactly one.
    arrivals.push({ ...p, arrivalMs: sendMs + (i > 3 ? rnd() * jitterMs : 0) });
    if (i > 3 && rnd() < dup) {
      dups++;
      arrivals.push({ ...p, arrivalMs: sendMs + rnd() * jitterMs });
    }
  }
  arrivals.sort((a, b) => a.arrivalMs - b.arrivalMs);
  return { arrivals, lost, dups };
}

/** RFC 3550 A.8 written out independently: unwrapped timestamps, ms throughout, floating point. */
function independentJitterMs(arrivals: readonly Arrival[]): { a8: number; meanAbsD: number } {
  let j = 0;
  let sum = 0;
  for (let k = 1; k < arrivals.length; k++) {
    const prev = arrivals[k - 1]!;
    const cur = arrivals[k]!;
    const d = cur.arrivalMs - prev.arrivalMs - ((cur.tsAbs - prev.tsAbs) * 1000) / CLOCK;
    j += (Math.abs(d) - j) / 16;
    sum += Math.abs(d);
  }
  return { a8: j, meanAbsD: sum / (arrivals.length - 1) };
}

describe('ReceiverStats on a simulated lossy, jittery stream (RFC 3550 A.1, A.3, A.8)', () => {
  const N = 30_000; // 10 minutes of 20 ms packets
  const { arrivals, lost, dups } = simulate(N, 0.05, 0.002, 30, 0x5eed);
  const stats = new ReceiverStats({ clockRate: CLOCK });
  const block = createRtcpReportBlock();
  const fractions: number[] = [];
  let reordered = 0;
  let maxSeen = -1;
  for (const [k, a] of arrivals.entries()) {
    if (a.i < maxSeen) reordered++;
    maxSeen = Math.max(maxSeen, a.i);
    stats.onRtp(0x1234, a.seq, a.ts, a.arrivalMs);
    // An RR every 5 s of stream (250 arrivals), as an RTCP interval would.
    if (k % 250 === 249) fractions.push(stats.fillReportBlock(block, a.arrivalMs).fractionLost);
  }

  it('really exercised wraps, reordering, duplicates and 5 % loss', () => {
    expect(lost / N).toBeGreaterThan(0.045);
    expect(lost / N).toBeLessThan(0.055);
    expect(dups).toBeGreaterThan(20);
    expect(reordered).toBeGreaterThan(1000);
    expect(stats.extendedHighestSeq).toBe(65000 + N - 1); // one full cycle, 65536 + (65000 + N - 1 - 65536)
    expect(stats.extendedHighestSeq >>> 16).toBe(1);
  });

  it('reports the loss within ±1 point of the injected 5 %', () => {
    expect(Math.abs(stats.lossPercent - 5)).toBeLessThan(1);
    // A.3 exactly: the first packet is spent on probation, so counting starts at the second.
    expect(stats.expected).toBe(N - 1);
    expect(stats.received).toBe(arrivals.length - 1);
    expect(stats.lost).toBe(lost - dups); // duplicates count as received (A.3)
    expect(stats.probationDrops).toBe(1);
    expect(stats.misordered).toBeGreaterThan(0);
  });

  it('reports the per-interval fraction lost around 5 % (×256 ≈ 13)', () => {
    const mean = fractions.reduce((s, f) => s + f, 0) / fractions.length;
    expect(fractions.length).toBeGreaterThan(100);
    expect(Math.abs((mean * 100) / 256 - 5)).toBeLessThan(1);
    expect(block.cumulativeLost).toBeGreaterThan(0);
  });

  it('estimates interarrival jitter within ±5 ms of the independently computed value', () => {
    const { a8, meanAbsD } = independentJitterMs(arrivals);
    // The same filter computed independently: matches to rounding.
    expect(Math.abs(stats.jitterMs - a8)).toBeLessThan(5);
    expect(stats.jitterMs).toBeCloseTo(a8, 6);
    // What the filter estimates: the mean |D| between consecutive arrivals. For delays uniform on
    // 0..30 ms, E|X − Y| = 30/3 = 10 ms.
    expect(Math.abs(stats.jitterMs - meanAbsD)).toBeLessThan(5);
    expect(Math.abs(meanAbsD - 10)).toBeLessThan(0.5);
    expect(Math.abs(stats.jitterMs - 10)).toBeLessThan(5);
    // In timestamp units for the RR: 8 per ms.
    expect(stats.fillReportBlock(createRtcpReportBlock(), 0).jitter).toBe(Math.floor(stats.jitter));
    expect(Math.abs(stats.jitter / 8 - stats.jitterMs)).toBeLessThan(1e-9);
  });
});

function feed(stats: ReceiverStats, seqs: readonly number[], ssrc = 1, t0 = 0): void {
  for (const [k, s] of seqs.entries()) stats.onRtp(ssrc, s, s * TS_STEP, t0 + k * PTIME_MS);
}

describe('ReceiverStats sequence handling (A.1)', () => {
  it('holds a new source on probation until two packets arrive in sequence', () => {
    const s = new ReceiverStats({ clockRate: CLOCK });
    expect(s.onRtp(1, 100, 0, 0)).toBe(false);
    expect(s.valid).toBe(false);
    expect(s.expected).toBe(0);
    expect(s.onRtp(1, 101, 160, 20)).toBe(true);
    expect(s.valid).toBe(true);
    expect(s.expected).toBe(1);
    const eager = new ReceiverStats({ clockRate: CLOCK, minSequential: 1 });
    expect(eager.onRtp(1, 100, 0, 0)).toBe(true);
    expect(eager.received).toBe(1);
  });

  it('counts cycles across the 65535 → 0 wrap', () => {
    const s = new ReceiverStats({ clockRate: CLOCK, minSequential: 1 });
    feed(s, [65530, 65531, 65532, 65533, 65534, 65535, 0, 1, 2, 3, 4, 5]);
    expect(s.extendedHighestSeq).toBe(65536 + 5);
    expect(s.expected).toBe(12);
    expect(s.lost).toBe(0);
  });

  it('counts late packets as received, not lost, and a gap as lost until it is filled', () => {
    const s = new ReceiverStats({ clockRate: CLOCK, minSequential: 1 });
    feed(s, [10, 11, 13, 14, 15]);
    expect(s.lost).toBe(1);
    s.onRtp(1, 12, 12 * TS_STEP, 200); // late
    expect(s.lost).toBe(0);
    expect(s.extendedHighestSeq).toBe(15);
    expect(s.misordered).toBe(1);
  });

  it('counts duplicates as received (A.3): negative loss, fraction lost 0', () => {
    const s = new ReceiverStats({ clockRate: CLOCK, minSequential: 1 });
    feed(s, [1, 2, 3, 3, 4, 4, 5]);
    expect(s.lost).toBe(-2);
    expect(s.lossPercent).toBe(0);
    const b = s.fillReportBlock(createRtcpReportBlock(), 1000);
    expect(b.fractionLost).toBe(0);
    expect(b.cumulativeLost).toBe(-2);
  });

  it('drops one far jump, and restarts the source when the next packet confirms it', () => {
    const s = new ReceiverStats({ clockRate: CLOCK, minSequential: 1 });
    feed(s, [100, 101, 102]);
    expect(s.onRtp(1, 20000, 0, 100)).toBe(false); // a stray: not counted
    expect(s.onRtp(1, 103, 103 * TS_STEP, 120)).toBe(true);
    expect(s.jumpDrops).toBe(1);
    expect(s.expected).toBe(4);
    expect(s.onRtp(1, 30000, 0, 140)).toBe(false);
    expect(s.onRtp(1, 30001, 160, 160)).toBe(true); // in sequence after the jump: the sender restarted
    expect(s.restarts).toBe(1);
    expect(s.expected).toBe(1);
    expect(s.totalExpected).toBe(5);
    expect(s.totalReceived).toBe(5);
  });

  it('starts over on a new SSRC, keeping the stream totals', () => {
    const s = new ReceiverStats({ clockRate: CLOCK, minSequential: 1 });
    feed(s, [1, 2, 4]); // one lost
    feed(s, [500, 501, 502], 2);
    expect(s.ssrc).toBe(2);
    expect(s.sourceChanges).toBe(1);
    expect(s.expected).toBe(3);
    expect(s.totalExpected).toBe(7);
    expect(s.totalReceived).toBe(6);
  });

  it('computes fraction lost per report interval (A.3), 8-bit fixed point', () => {
    const s = new ReceiverStats({ clockRate: CLOCK, minSequential: 1 });
    const b = createRtcpReportBlock();
    // interval 1: 100 expected, 10 lost
    const first: number[] = [];
    for (let i = 0; i < 100; i++) if (i % 10 !== 5) first.push(i);
    feed(s, first);
    expect(s.fillReportBlock(b, 0).fractionLost).toBe(Math.floor((10 * 256) / 100));
    expect(b.cumulativeLost).toBe(10);
    expect(b.extendedHighestSeq).toBe(99);
    // interval 2: no loss; cumulative stays
    feed(
      s,
      Array.from({ length: 50 }, (_, i) => 100 + i),
    );
    expect(s.fillReportBlock(b, 0).fractionLost).toBe(0);
    expect(b.cumulativeLost).toBe(10);
    // interval 3: nothing arrived
    expect(s.fillReportBlock(b, 0).fractionLost).toBe(0);
  });
});

describe('ReceiverStats LSR/DLSR bookkeeping (§6.4.1)', () => {
  it('echoes the middle 32 bits of the last SR and the time held in 1/65536 s', () => {
    const s = new ReceiverStats({ clockRate: CLOCK });
    const b = createRtcpReportBlock();
    expect(s.fillReportBlock(b, 0)).toMatchObject({ lsr: 0, dlsr: 0 });
    const srWallMs = Date.UTC(2025, 5, 1, 12, 0, 0, 250);
    s.onSenderReport(ntpSecondsFromMs(srWallMs), ntpFractionFromMs(srWallMs), 10_000);
    s.fillReportBlock(b, 10_500);
    expect(b.lsr).toBe(ntpMiddle32FromMs(srWallMs));
    expect(b.dlsr).toBe(32768); // 0.5 s
  });

  it('keeps the jitter estimate stable through an RTP timestamp wrap', () => {
    const s = new ReceiverStats({ clockRate: CLOCK, minSequential: 1 });
    const ts0 = 2 ** 32 - 10 * TS_STEP;
    for (let i = 0; i < 40; i++) s.onRtp(9, i, (ts0 + i * TS_STEP) >>> 0, i * PTIME_MS);
    expect(s.jitter).toBe(0);
  });
});
