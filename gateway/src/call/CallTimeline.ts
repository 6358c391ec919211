/**
 * What happened on a call and when, for the live call page: caller and agent speech, barge-ins,
 * marks and DTMF, on the call clock (ms since the call began), plus the peak levels of both
 * directions since the page last looked. A bounded ring of events (one small object per event,
 * a few per second at most; nothing per frame) and two numbers for the meters.
 */
export type TimelineEvent =
  | { seq: number; atMs: number; type: 'caller_started' | 'caller_stopped' | 'agent_started' | 'agent_stopped' }
  | { seq: number; atMs: number; type: 'barge_in'; playedMs: number; cleared: boolean }
  | { seq: number; atMs: number; type: 'mark'; name: string; cleared: boolean }
  | { seq: number; atMs: number; type: 'dtmf'; digit: string };

/** Distributes over the union, so each kind keeps its own fields. */
type Without<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type TimelineInput = Without<TimelineEvent, 'seq' | 'atMs'>;

/** Events kept per call: the page shows the last minute or so; older ones fall off. */
export const TIMELINE_EVENTS = 256;
/** dBFS reported for silence (the barge-in detector's floor). */
const SILENT_DB = -100;

export class CallTimeline {
  readonly #ring: (TimelineEvent | undefined)[] = new Array<TimelineEvent | undefined>(TIMELINE_EVENTS);
  #seq = 0;
  #callerPeakDb = SILENT_DB;
  #agentPlaying = false;

  /** Adds an event at `atMs` on the call clock. */
  add(atMs: number, ev: TimelineInput): void {
    const e: TimelineEvent = { ...ev, seq: ++this.#seq, atMs: Math.round(atMs) };
    this.#ring[e.seq % TIMELINE_EVENTS] = e;
  }

  /** Sequence number of the latest event (0: none yet). */
  get seq(): number {
    return this.#seq;
  }

  /** Events after `seq`, oldest first (those still in the ring). */
  since(seq: number): TimelineEvent[] {
    const out: TimelineEvent[] = [];
    for (let s = Math.max(seq + 1, this.#seq - TIMELINE_EVENTS + 1); s <= this.#seq; s++) {
      const e = this.#ring[s % TIMELINE_EVENTS];
      if (e !== undefined) out.push(e);
    }
    return out;
  }

  /** The raw levels (dBFS per 10 ms) the inbound chain measured for a frame: the caller meter's peak. */
  callerLevels(levels: Float32Array): void {
    const l = levels[0]! > levels[1]! ? levels[0]! : levels[1]!;
    if (l > this.#callerPeakDb) this.#callerPeakDb = l;
  }

  /** The caller meter: the peak level since the last call, dBFS; resets it. */
  takeCallerPeakDb(): number {
    const p = this.#callerPeakDb;
    this.#callerPeakDb = SILENT_DB;
    return p;
  }

  /** Whether agent audio is playing, each tick: its start and stop become events. */
  agentPlaying(playing: boolean, atMs: number): void {
    if (playing === this.#agentPlaying) return;
    this.#agentPlaying = playing;
    this.add(atMs, { type: playing ? 'agent_started' : 'agent_stopped' });
  }
}
