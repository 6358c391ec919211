import { performance } from 'node:perf_hooks';
import { g711DecodeInto, g711EncodeInto } from '../../codecs/src/index.js';
import { SendClock } from '../SendClock.js';

/**
 * The far end of a buffered media stream, as the platforms describe theirs: audio it is sent is
 * queued and played in order at real-time pace, 20 ms at a time, on its own clock; a mark is
 * reported once every sample queued before it has finished playing (at once when nothing is
 * queued); a clear empties the queue. It records what it played and when, how much it held each
 * time audio arrived, and its underruns, so tests can check pacing, marks and clears.
 */
export class Player {
  readonly rate: number;
  readonly #frame: number;
  /** queued audio chunks and marks, in order */
  readonly #queue: (Int16Array | { mark: string })[] = [];
  #queuedSamples = 0;
  #playing = false;
  /** when the frame now playing ends (the clock's next tick) */
  #frameEndsAt = 0;
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;
  #stalled = false;
  /** 20 ms frames played, with the time each began */
  readonly played: { atMs: number; pcm: Int16Array }[] = [];
  /** each arrival of audio: when, how long, and the ms held right after (queued + the rest of the frame playing) */
  readonly arrivals: { atMs: number; ms: number; heldMs: number }[] = [];
  /** with `keepReceived`: each chunk of audio as it arrived, and when each clear came (the bench reads them back) */
  readonly received: { atMs: number; pcm: Int16Array }[] = [];
  readonly clears: number[] = [];
  keepReceived = false;
  /** times the queue ran dry and audio came again within 60 ms (a gap inside an utterance) */
  underruns = 0;
  /** called when a mark's audio has played */
  onMark: (name: string) => void = () => {};

  constructor(rate: number) {
    this.rate = rate;
    this.#frame = rate / 50;
  }

  push(pcm: Int16Array): void {
    if (this.#stopped || pcm.length === 0) return;
    const now = performance.now();
    // a timer firing late must not make the clock late: play what was due before taking this
    while (this.#playing && !this.#stalled && this.#timer !== null && this.#frameEndsAt <= now) {
      clearTimeout(this.#timer);
      this.#tick(this.#frameEndsAt);
    }
    this.#queue.push(pcm);
    this.#queuedSamples += pcm.length;
    if (!this.#playing && !this.#stalled) {
      // audio resuming within 60 ms of the last frame's end: the stream ran dry mid-utterance
      if (this.played.length > 0 && now - this.#frameEndsAt < 60) this.underruns++;
      this.#playing = true;
      this.#tick(now);
    }
    this.arrivals.push({ atMs: now, ms: (1000 * pcm.length) / this.rate, heldMs: this.heldMs(now) });
    if (this.keepReceived) this.received.push({ atMs: now, pcm: pcm.slice() });
  }

  /** Queues a mark; with nothing queued or playing it has played already. */
  mark(name: string): void {
    if (this.#stopped) return;
    if (!this.#playing && this.#queue.length === 0) return this.onMark(name);
    this.#queue.push({ mark: name });
  }

  /** Drops everything queued; returns the names of the marks dropped. */
  clear(): string[] {
    if (this.keepReceived) this.clears.push(performance.now());
    const marks = this.#queue.flatMap((x) => (x instanceof Int16Array ? [] : [x.mark]));
    this.#queue.length = 0;
    this.#queuedSamples = 0;
    return marks;
  }

  /** ms of audio held: queued plus what is left of the frame playing. */
  heldMs(now = performance.now()): number {
    return (1000 * this.#queuedSamples) / this.rate + (this.#playing ? Math.max(0, this.#frameEndsAt - now) : 0);
  }

  /** Everything played, concatenated (gaps between utterances not included). */
  recording(): Int16Array {
    const out = new Int16Array(this.played.reduce((a, f) => a + f.pcm.length, 0));
    let o = 0;
    for (const f of this.played) {
      out.set(f.pcm, o);
      o += f.pcm.length;
    }
    return out;
  }

  /** The platform stalls (a network hiccup): nothing plays for `ms`, what arrives queues, then playback goes on. */
  stall(ms: number): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#stalled = true;
    setTimeout(() => {
      this.#stalled = false;
      if (!this.#stopped && this.#queue.length > 0) {
        this.#playing = true;
        this.#tick(performance.now());
      } else this.#playing = false;
    }, ms);
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** One tick of the clock at `t`: the frame before it has ended; the next one begins. */
  #tick(t: number): void {
    this.#timer = null;
    // marks at the head: everything before them has now played
    while (this.#queue.length > 0 && !(this.#queue[0] instanceof Int16Array)) this.onMark((this.#queue.shift() as { mark: string }).mark);
    if (this.#queuedSamples === 0) {
      this.#playing = false;
      return;
    }
    const pcm = new Int16Array(this.#frame);
    let n = 0;
    while (n < pcm.length && this.#queue.length > 0 && this.#queue[0] instanceof Int16Array) {
      const head = this.#queue[0];
      const take = Math.min(head.length, pcm.length - n);
      pcm.set(head.subarray(0, take), n);
      n += take;
      if (take === head.length) this.#queue.shift();
      else this.#queue[0] = head.subarray(take);
    }
    this.#queuedSamples -= n;
    this.played.push({ atMs: t, pcm: pcm.subarray(0, n) });
    this.#frameEndsAt = t + (1000 * n) / this.rate;
    this.#timer = setTimeout(() => this.#tick(this.#frameEndsAt), Math.max(0, this.#frameEndsAt - performance.now()));
  }
}

export const ulaw = {
  encode(pcm: Int16Array): Uint8Array {
    const out = new Uint8Array(pcm.length);
    g711EncodeInto('ulaw', pcm, out);
    return out;
  },
  decode(bytes: Uint8Array): Int16Array {
    const out = new Int16Array(bytes.length);
    g711DecodeInto('ulaw', bytes, out);
    return out;
  },
};

/** 16-bit little-endian PCM, as the L16 streams (Vonage, Exotel, Plivo L16, Asterisk slin) carry it. */
export const l16 = {
  encode(pcm: Int16Array): Uint8Array {
    const out = new Uint8Array(pcm.length * 2);
    const dv = new DataView(out.buffer);
    pcm.forEach((v, i) => dv.setInt16(2 * i, v, true));
    return out;
  },
  decode(bytes: Uint8Array): Int16Array {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return Int16Array.from({ length: bytes.length >> 1 }, (_, i) => dv.getInt16(2 * i, true));
  },
};

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Sends `pcm` in 20 ms chunks at real-time pace (a `SendClock`), calling `send` with each. */
export async function paced(
  pcm: Int16Array,
  rate: number,
  send: (chunk: Int16Array, k: number) => void,
  isOpen: () => boolean,
): Promise<void> {
  const n = rate / 50;
  const clock = new SendClock(20);
  for (let k = 0; k * n < pcm.length; k++) {
    await clock.due(k);
    if (!isOpen()) return;
    send(pcm.subarray(k * n, Math.min(pcm.length, (k + 1) * n)), k);
  }
}
