/**
 * The agent's audio waiting to be played to the caller, with marks in-band: a mark is reached
 * when every sample queued before it has been pulled. Bounded in samples; audio beyond the bound
 * is refused (the caller counts the drop).
 *
 * Audio is held as the chunks the agent sent (copied on arrival, since socket buffers are
 * borrowed), so a burst of many seconds costs one allocation per message, not per frame.
 */
type Item = { kind: 'audio'; pcm: Int16Array; off: number; receivedAt: number } | { kind: 'mark'; name: string };

export interface PullResult {
  /** samples of agent audio written (the rest of the frame is silence) */
  filled: number;
  /** arrival time of the chunk that supplied the first sample, or -1 */
  firstReceivedAt: number;
}

export class PlayoutQueue {
  readonly #items: Item[] = [];
  #head = 0;
  #queued = 0;
  readonly #max: number;
  readonly #result: PullResult = { filled: 0, firstReceivedAt: -1 };

  /** @param maxSamples bound on queued audio, samples */
  constructor(maxSamples: number) {
    this.#max = maxSamples;
  }

  /** Samples of audio queued. */
  get queued(): number {
    return this.#queued;
  }

  /** True when neither audio nor marks are queued. */
  get empty(): boolean {
    return this.#head === this.#items.length;
  }

  /** Queues an owned chunk. Returns false (and queues nothing) when it would exceed the bound. */
  pushAudio(pcm: Int16Array, receivedAt: number): boolean {
    if (this.#queued + pcm.length > this.#max) return false;
    this.#items.push({ kind: 'audio', pcm, off: 0, receivedAt });
    this.#queued += pcm.length;
    return true;
  }

  pushMark(name: string): void {
    this.#items.push({ kind: 'mark', name });
  }

  /** The name of the mark at the head of the queue (all audio before it pulled), or null. */
  peekMark(): string | null {
    const it = this.#items[this.#head];
    return it?.kind === 'mark' ? it.name : null;
  }

  shiftMark(): string | null {
    const name = this.peekMark();
    if (name !== null) this.#advance();
    return name;
  }

  /**
   * Fills `dst` with queued audio up to the next mark or the end of the queue; the remainder is
   * zeroed. Stops at a mark so its position is exact to the sample.
   */
  pull(dst: Int16Array): PullResult {
    const r = this.#result;
    r.filled = 0;
    r.firstReceivedAt = -1;
    while (r.filled < dst.length) {
      const it = this.#items[this.#head];
      if (it === undefined || it.kind === 'mark') break;
      const n = Math.min(dst.length - r.filled, it.pcm.length - it.off);
      dst.set(it.pcm.subarray(it.off, it.off + n), r.filled);
      if (r.firstReceivedAt < 0 && it.off === 0) r.firstReceivedAt = it.receivedAt;
      it.off += n;
      r.filled += n;
      this.#queued -= n;
      if (it.off === it.pcm.length) this.#advance();
    }
    dst.fill(0, r.filled);
    return r;
  }

  /** Drops everything; returns the names of the marks dropped, in order. */
  clear(): string[] {
    const marks: string[] = [];
    for (let i = this.#head; i < this.#items.length; i++) {
      const it = this.#items[i]!;
      if (it.kind === 'mark') marks.push(it.name);
    }
    this.#items.length = 0;
    this.#head = 0;
    this.#queued = 0;
    return marks;
  }

  #advance(): void {
    this.#head++;
    // Compact occasionally so the array does not grow without bound over a long call.
    if (this.#head > 256 && this.#head * 2 > this.#items.length) {
      this.#items.splice(0, this.#head);
      this.#head = 0;
    }
  }
}
