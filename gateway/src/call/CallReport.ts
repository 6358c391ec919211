import type { Call } from './Call.js';
import type { QualityReport } from './CallQuality.js';

/** Where a call's recording is, once it is finished. */
export interface RecordingInfo {
  /** the API path that serves it (authorised like every call route; any instance forwards it) */
  url: string;
  /** the file's name in RECORDINGS_DIR */
  file: string;
  format: 'wav';
  sampleRate: number;
  channels: 2;
  /** left: the caller (raw as received, or denoised); right: the agent as played */
  left: 'caller' | 'caller_denoised';
  durationMs: number;
  bytes: number;
}

/** The end-of-call record POSTed to the route's `events.url` (and logged). */
export interface CallReport {
  event: 'call.ended';
  callId: string;
  from: string;
  to: string;
  startedAt: string;
  endedAt: string;
  durationMs: number;
  endReason: string;
  codec: string;
  /** the telephony edge ('udp', 'ws', 'sip', 'twilio', …) */
  edge: string;
  /** the agent's dialect and URL (origin and path: a query may hold credentials) */
  agent: { url: string; dialect: string };
  quality: QualityReport;
  recording: RecordingInfo | null;
  /** why there is no recording when one was asked for (a disk error), else absent */
  recordingError?: string;
}

/** The report of a call that has just ended. */
export function callReport(call: Call, endedAtMs: number, quality: QualityReport, recording: RecordingInfo | null): CallReport {
  return {
    event: 'call.ended',
    callId: call.id,
    from: call.from,
    to: call.to,
    startedAt: new Date(call.createdAt).toISOString(),
    endedAt: new Date(endedAtMs).toISOString(),
    durationMs: endedAtMs - call.createdAt,
    endReason: call.closeReason ?? 'unknown',
    codec: call.codec,
    edge: call.edge.kind,
    agent: { url: safeUrl(call.route.agent.url), dialect: call.route.agent.dialect },
    quality,
    recording,
    ...(call.route.record !== null && recording === null ? { recordingError: 'the recording could not be written (see the log)' } : {}),
  };
}

function safeUrl(url: string): string {
  if (!URL.canParse(url)) return url;
  const u = new URL(url);
  return u.protocol.startsWith('ws') || u.protocol.startsWith('http') ? `${u.origin}${u.pathname}` : url;
}
