import type { CodecErrorCode } from '../../codecs/src/index.js';

/**
 * Stable error codes of the gateway. They are API: HTTP error bodies carry them as `code`,
 * and the drop counter in /metrics uses them as its `reason` label. Never rename one.
 */
export type GatewayErrorCode =
  | CodecErrorCode
  | 'BAD_REQUEST'
  | 'CONFIG_INVALID'
  | 'INVALID_NUMBER'
  | 'NOT_FOUND'
  | 'DRAINING'
  | 'UNAUTHORIZED'
  | 'AT_CAPACITY'
  | 'RATE_LIMITED'
  | 'RTP_RATE_LIMITED'
  | 'FRAME_TOO_LARGE'
  | 'DSP_OVERLOAD'
  | 'VAD_OVERLOAD'
  | 'RTP_UNKNOWN_PAYLOAD_TYPE'
  | 'RTP_SSRC_CHANGED'
  | 'RTP_LATE'
  | 'RTP_DUPLICATE'
  | 'RTP_FOREIGN_SOURCE'
  | 'PLAYOUT_OVERFLOW'
  | 'AGENT_UNREACHABLE'
  | 'AGENT_TIMEOUT'
  | 'AGENT_CLOSED'
  | 'AGENT_BACKPRESSURE'
  | 'CONTROL_INVALID'
  | 'EDGE_BACKPRESSURE'
  | 'DSP_WORKER_RESTARTED'
  | 'RTCP_INVALID'
  | 'TRANSFER_FAILED'
  | 'SIP_CALL_FAILED'
  | 'AGENT_URL_FORBIDDEN'
  | 'AGENT_FLOOD'
  | 'EDGE_FLOOD'
  | 'SIP_URI_FORBIDDEN'
  | 'PEER_UNREACHABLE'
  | 'RECORDING_IN_PROGRESS'
  | 'RECORDING_FAILED'
  | 'RECORDING_BACKLOG'
  | 'WEBHOOK_FAILED'
  | 'WEBHOOK_REJECTED'
  | 'WEBHOOK_FORBIDDEN'
  | 'WEBHOOK_QUEUE_FULL'
  | 'INTERNAL';

export class GatewayError extends Error {
  override readonly name = 'GatewayError';
  constructor(
    readonly code: GatewayErrorCode,
    message: string,
    readonly opts: { status?: number; callId?: string; cause?: unknown } = {},
  ) {
    super(message, opts.cause !== undefined ? { cause: opts.cause } : undefined);
  }

  /** HTTP status for API answers. */
  get status(): number {
    return this.opts.status ?? 400;
  }
}
