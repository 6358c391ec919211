import type { Metrics } from '../metrics.js';
import type { DspPool } from '../media/DspPool.js';
import type { EdgeCodecName } from '../media/edgeCodecs.js';
import type { SpeexModule } from '../media/InboundDsp.js';
import type { SileroModel } from '../media/SileroModel.js';
import type { Route } from '../route.js';
import type { RecordServices } from './CallRecord.js';

/** Why a call ended (stable strings: they appear in logs, stop messages and the API). */
export type CloseReason =
  | 'edge_stop'
  | 'edge_closed'
  | 'api_delete'
  | 'agent_hangup'
  | 'agent_closed'
  | 'agent_unreachable'
  | 'agent_timeout'
  | 'shutdown'
  | 'media_timeout'
  | 'transferred'
  | 'error';

export interface CallDeps {
  metrics: Metrics;
  /** where the inbound chain runs (inline or a worker thread) */
  dspPool: DspPool;
  /** this thread's resampler module, for outbound playout */
  speex: SpeexModule;
  resampleQuality: number;
  playoutMaxSeconds: number;
  /** the clock, ms (performance.now; the barge-in evaluation runs calls in simulated time) */
  now?: () => number;
  /** this thread's Silero VAD for barge-in (null or absent: RNNoise's voice probability) */
  vad?: SileroModel | null;
  /** recordings and end-of-call reports (absent in benches: quality and timeline only) */
  record?: RecordServices;
}

export interface CallSetup {
  id: string;
  from: string;
  to: string;
  route: Route;
  codec: EdgeCodecName;
  payloadType: number;
  dtmfPayloadType: number;
}
