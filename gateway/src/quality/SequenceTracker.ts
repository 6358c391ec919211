/**
 * RFC 3550 Appendix A.1 and A.3 for one inbound RTP stream: the extended sequence number with
 * source validation (probation, restarts after a big jump, duplicates and late packets), and the
 * expected/received/lost counts per report interval and in total. ReceiverStats owns one and adds
 * the SSRC, jitter and LSR/DLSR around it. Nothing is allocated per packet.
 */

/** A.1: 2^16, the sequence-number space */
const RTP_SEQ_MOD = 0x10000;
/** A.1 defaults: a forward jump up to this many packets is a gap, not a restart */
const MAX_DROPOUT = 3000;
/** A.1 defaults: a backward step up to this many packets is a late packet or a duplicate */
const MAX_MISORDER = 100;
/** A.1 defaults: packets in sequence before a new source is accepted */
export const MIN_SEQUENTIAL = 2;

/** What `update` did with a packet: counted it, set it aside, or restarted the source on it (and counted it). */
export type SequenceUpdate = 'counted' | 'dropped' | 'restarted';

export class SequenceTracker {
  readonly #minSequential: number;
  #started = false;

  // A.1 source state (names as in the RFC's struct source)
  #maxSeq = 0;
  #cycles = 0;
  #baseSeq = 0;
  #badSeq = RTP_SEQ_MOD + 1;
  #probation = 0;
  #received = 0;
  #expectedPrior = 0;
  #receivedPrior = 0;

  // Totals of the sources (or restarts) before the current one, so call-level loss survives them.
  #priorExpected = 0;
  #priorReceived = 0;

  #lastFractionLost = 0;

  #restarts = 0;
  #probationDrops = 0;
  #jumpDrops = 0;
  #misordered = 0;

  /** @param minSequential A.1 probation: sequential packets required before a source counts (≥ 1) */
  constructor(minSequential: number) {
    this.#minSequential = minSequential;
  }

  /**
   * A new source starts with `seq` (the first packet, or a new SSRC): the previous one's counts go
   * to the totals, and the new one is on probation again.
   */
  start(seq: number): void {
    if (this.#started) this.#foldTotals();
    this.#started = true;
    // A.1: "init_seq(s, seq); s->max_seq = seq - 1; s->probation = MIN_SEQUENTIAL;"
    this.#initSeq(seq);
    this.#maxSeq = (seq - 1) & 0xffff;
    this.#probation = this.#minSequential;
  }

  /** A.1 update_seq for one packet's 16-bit sequence number */
  update(seq: number): SequenceUpdate {
    const udelta = (seq - this.#maxSeq) & 0xffff;
    let restarted = false;
    if (this.#probation > 0) {
      // Source not yet valid: it needs MIN_SEQUENTIAL packets in sequence.
      if (seq === ((this.#maxSeq + 1) & 0xffff)) {
        this.#probation--;
        this.#maxSeq = seq;
        if (this.#probation === 0) {
          this.#initSeq(seq);
          this.#received++;
          return 'counted';
        }
      } else {
        this.#probation = this.#minSequential - 1;
        this.#maxSeq = seq;
      }
      this.#probationDrops++;
      return 'dropped';
    } else if (udelta < MAX_DROPOUT) {
      // In order, with a permissible gap.
      if (seq < this.#maxSeq) this.#cycles += RTP_SEQ_MOD; // wrapped
      this.#maxSeq = seq;
    } else if (udelta <= RTP_SEQ_MOD - MAX_MISORDER) {
      // A very large jump. Two in sequence after it mean the sender restarted (e.g. without
      // changing SSRC): start over from there; otherwise drop this one.
      if (seq === this.#badSeq) {
        this.#restarts++;
        this.#foldTotals();
        this.#initSeq(seq);
        restarted = true;
      } else {
        this.#badSeq = (seq + 1) & 0xffff;
        this.#jumpDrops++;
        return 'dropped';
      }
    } else {
      // Duplicate or reordered: counted as received (A.3), max_seq unchanged.
      this.#misordered++;
    }
    this.#received++;
    return restarted ? 'restarted' : 'counted';
  }

  /** A.3: closes the report interval and returns its fraction lost (8-bit fixed point) */
  closeInterval(): number {
    const expected = this.expected;
    // A.3: the interval's fraction lost; zero when packets arrived twice (negative loss).
    const expectedInterval = expected - this.#expectedPrior;
    this.#expectedPrior = expected;
    const receivedInterval = this.#received - this.#receivedPrior;
    this.#receivedPrior = this.#received;
    const lostInterval = expectedInterval - receivedInterval;
    this.#lastFractionLost =
      expectedInterval <= 0 || lostInterval <= 0 ? 0 : Math.min(255, Math.floor((lostInterval * 256) / expectedInterval));
    return this.#lastFractionLost;
  }

  /** True once a source has started (after the first packet) */
  get started(): boolean {
    return this.#started;
  }

  /** True once the current source has passed probation (A.1) */
  get valid(): boolean {
    return this.#started && this.#probation === 0;
  }

  /** Extended highest sequence number received: cycles × 2^16 + max_seq, 32 bits (A.1) */
  get extendedHighestSeq(): number {
    return (this.#cycles + this.#maxSeq) >>> 0;
  }

  /** Packets expected from the current source so far (A.3); 0 while on probation */
  get expected(): number {
    return this.valid ? this.#cycles + this.#maxSeq - this.#baseSeq + 1 : 0;
  }

  /** Packets received from the current source so far, duplicates and late ones included (A.3) */
  get received(): number {
    return this.#received;
  }

  /** Packets expected over the whole stream, across source changes and restarts */
  get totalExpected(): number {
    return this.#priorExpected + this.expected;
  }

  /** Packets received over the whole stream, across source changes and restarts */
  get totalReceived(): number {
    return this.#priorReceived + this.#received;
  }

  /** Fraction lost in the last closed report interval, 8-bit fixed point (lost/expected × 256) */
  get fractionLost(): number {
    return this.#lastFractionLost;
  }

  get restarts(): number {
    return this.#restarts;
  }
  get probationDrops(): number {
    return this.#probationDrops;
  }
  get jumpDrops(): number {
    return this.#jumpDrops;
  }
  get misordered(): number {
    return this.#misordered;
  }

  /** A.1 init_seq */
  #initSeq(seq: number): void {
    this.#baseSeq = seq;
    this.#maxSeq = seq;
    this.#badSeq = RTP_SEQ_MOD + 1; // so seq == bad_seq is false
    this.#cycles = 0;
    this.#received = 0;
    this.#receivedPrior = 0;
    this.#expectedPrior = 0;
  }

  #foldTotals(): void {
    this.#priorExpected += this.expected;
    this.#priorReceived += this.#received;
  }
}
