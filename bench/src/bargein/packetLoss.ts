/**
 * Packet loss on the caller's way to the gateway, in bursts: the two-state Markov (Gilbert) model,
 * in which a packet is lost while the line is in its bad state; the E-model's burst ratio (BurstR,
 * ITU-T G.107) is defined on it, and RFC 3611 §4.7.2 reports a call's bursts and gaps. Real IP
 * paths lose packets in runs, not one by one, and a run of lost frames is what a detector has to
 * hear past.
 */
export class PacketLoss {
  /** P(good → bad) and P(bad → good) per packet */
  readonly #enter: number;
  readonly #leave: number;
  readonly #draw: () => number;
  #bad = false;

  /**
   * `rate`: the share of packets lost in the long run (0 ≤ rate < 1); `burst`: the mean run of
   * packets lost together (≥ 1); `draw`: uniform on [0, 1), a stream of the loss's own.
   */
  constructor(rate: number, burst: number, draw: () => number) {
    if (!(rate >= 0 && rate < 1)) throw new Error('loss rate is in [0, 1)');
    if (!(burst >= 1)) throw new Error('loss burst is at least one packet');
    // A run in the bad state lasts 1 / leave packets on average, and the stationary share of the
    // bad state is enter / (enter + leave).
    this.#leave = 1 / burst;
    this.#enter = (rate * this.#leave) / (1 - rate);
    this.#draw = draw;
  }

  /** Whether the next packet sent is lost. */
  lost(): boolean {
    this.#bad = this.#draw() < (this.#bad ? 1 - this.#leave : this.#enter);
    return this.#bad;
  }
}
