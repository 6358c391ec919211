import { performance } from 'node:perf_hooks';
import type { GatewayEvent } from '../agent/Agent.js';
import type { EventsWebhook } from '../api/eventsWebhook.js';
import { log } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { SpeexModule } from '../media/InboundDsp.js';
import type { Call } from './Call.js';
import { CallQuality } from './CallQuality.js';
import { CallRecorder } from './CallRecorder.js';
import { WAV_HEADER_BYTES } from './RecordingFile.js';
import { callReport, type RecordingInfo } from './CallReport.js';
import { CallTimeline } from './CallTimeline.js';
import type { RecordingStore } from './RecordingStore.js';

/** The gateway's services a call's record uses (absent: quality and timeline only, as in benches). */
export interface RecordServices {
  recordings: RecordingStore;
  reports: EventsWebhook;
  /** records still finishing (recording being closed, report not yet queued): a drain waits for them */
  finishing: Set<Promise<void>>;
}

export interface CallRecordDeps {
  metrics: Metrics;
  speex: SpeexModule;
  resampleQuality: number;
  now?: () => number;
  record?: RecordServices;
}

/**
 * Everything a call leaves behind, gathered as it goes: its quality figures (CallQuality), its
 * timeline and meters for the live page (CallTimeline), its recording (CallRecorder, when the route
 * asks), and at the end the log line, the /metrics histograms and the report to `events.url`.
 * The call feeds it from taps it already has (events to the agent, frames to the agent, the
 * playout's reference); nothing here runs per packet beyond a copy into the recorder's ring.
 */
export class CallRecord {
  readonly #call: Call;
  readonly #now: () => number;
  readonly #services: RecordServices | null;
  /** the call clock's origin (the call's creation), ms on the media clock */
  readonly t0: number;
  readonly quality: CallQuality;
  readonly timeline = new CallTimeline();
  readonly recorder: CallRecorder | null;
  #recordingDone: (() => void) | null = null;
  /** the finished recording, once the call ended and the file is complete */
  recording: RecordingInfo | null = null;
  /** resolves when the recording is finished (or failed) and the report is queued */
  finished: Promise<void> = Promise.resolve();

  constructor(call: Call, deps: CallRecordDeps) {
    this.#call = call;
    this.#now = deps.now ?? (() => performance.now());
    this.#services = deps.record ?? null;
    this.t0 = this.#now();
    this.quality = new CallQuality(call, deps.metrics);
    const opts = call.route.record;
    const store = this.#services?.recordings;
    // (Call ids are always RFC 4122 shaped, the only names the store maps to files.)
    if (opts === null || store === undefined || store.pathOf(call.id) === null) {
      this.recorder = null;
      return;
    }
    const info = call.inbound.codec;
    const { file, done } = store.create(call.id, info.pcmRate);
    this.#recordingDone = done;
    this.recorder = new CallRecorder(file, {
      rate: info.pcmRate,
      clockRate: info.clockRate,
      t0: this.t0,
      caller: opts.caller,
      agentRate: call.route.sampleRate,
      speex: deps.speex,
      resampleQuality: deps.resampleQuality,
    });
    const rec = this.recorder;
    if (opts.caller === 'raw') call.inbound.tap = (pcm, ts, arrivalMs) => rec.caller(pcm, ts, arrivalMs);
  }

  /** ms on the call clock now. */
  get nowMs(): number {
    return this.#now() - this.t0;
  }

  /** An event on its way to the agent: speech, barge-ins, marks and digits go on the timeline. Returns it. */
  event(ev: GatewayEvent): GatewayEvent {
    const t = this.nowMs;
    const tl = this.timeline;
    if (ev.type === 'speech_started' || ev.type === 'speech_stopped')
      tl.add(t, { type: ev.type === 'speech_started' ? 'caller_started' : 'caller_stopped' });
    else if (ev.type === 'barge_in') {
      this.quality.bargeIn(ev.playedMs);
      tl.add(t, { type: 'barge_in', playedMs: ev.playedMs, cleared: ev.cleared });
    } else if (ev.type === 'mark') tl.add(t, { type: 'mark', name: ev.name, cleared: ev.cleared });
    else if (ev.type === 'dtmf') tl.add(t, { type: 'dtmf', digit: ev.digit });
    return ev;
  }

  /** A caller frame went to the agent: its latency, its level for the meter, and (denoised recordings) its audio. */
  toAgent(frame: Int16Array, levels: Float32Array, arrivalMs: number): void {
    this.quality.toAgent(this.#now() - arrivalMs);
    this.timeline.callerLevels(levels);
    this.recorder?.callerFrame(frame, arrivalMs, this.#call.inbound.delayMs);
  }

  /** The playout's reference (edge-rate audio as played, and when the caller hears it). */
  played(playsAtMs: number, frame: Int16Array): void {
    this.recorder?.agent(playsAtMs, frame);
    this.timeline.agentPlaying(this.#call.playout.playing, playsAtMs - this.t0);
  }

  /**
   * The call ended: the end-of-call log line with its quality, the /metrics histograms, then (off
   * the call path) the recording finished and the report queued for `events.url`.
   */
  close(): void {
    const call = this.#call;
    const endedAt = Date.now();
    const quality = this.quality.report();
    this.quality.observe(quality);
    log('info', 'call_ended', {
      callId: call.id,
      reason: call.closeReason,
      durationMs: endedAt - call.createdAt,
      ...call.inbound.stats,
      ...call.stats,
      quality,
    });
    const rec = this.recorder;
    const svc = this.#services;
    this.finished = (async () => {
      const bytes = rec === null ? null : await rec.close();
      this.#recordingDone?.();
      if (rec !== null && bytes !== null) {
        this.recording = {
          url: `/v1/calls/${call.id}/recording`,
          file: `${call.id}.wav`,
          format: 'wav',
          sampleRate: rec.rate,
          channels: 2,
          left: call.route.record?.caller === 'denoised' ? 'caller_denoised' : 'caller',
          durationMs: Math.round((1000 * bytes) / 4 / rec.rate),
          bytes: bytes + WAV_HEADER_BYTES,
        };
        log('info', 'recording_saved', { callId: call.id, ...this.recording, lateSamples: rec.lateSamples });
      }
      const url = call.route.events?.url;
      if (url !== undefined && svc !== null) svc.reports.send(url, call.id, callReport(call, endedAt, quality, this.recording));
    })().catch((err: unknown) => {
      log('error', 'call_record_failed', { callId: call.id, error: String(err) });
    });
    const finished = this.finished;
    svc?.finishing.add(finished);
    void finished.then(() => svc?.finishing.delete(finished));
  }
}
