/**
 * Typed errors of the codecs library. Each has a stable `code`; the gateway uses the same
 * strings as the `reason` label of its drop counters, so never rename a code.
 */
export type CodecErrorCode =
  | 'RTP_TRUNCATED'
  | 'RTP_BAD_VERSION'
  | 'RTP_CSRC_OVERRUN'
  | 'RTP_EXTENSION_OVERRUN'
  | 'RTP_BAD_PADDING'
  | 'RTP_BUFFER_TOO_SMALL'
  | 'DTMF_TRUNCATED'
  | 'RTCP_TRUNCATED'
  | 'RTCP_BAD_VERSION'
  | 'RTCP_BAD_FIRST_PACKET'
  | 'RTCP_BAD_PADDING'
  | 'RTCP_BAD_LENGTH'
  | 'RTCP_BUFFER_TOO_SMALL'
  | 'CODEC_UNSUPPORTED'
  | 'CODEC_BAD_FRAME'
  | 'WASM_UNAVAILABLE'
  | 'CLOSED';

export class CodecError extends Error {
  override readonly name = 'CodecError';
  constructor(
    readonly code: CodecErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
