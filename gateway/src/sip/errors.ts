/**
 * Stable error codes of the SIP core. They are API: transports report dropped input with them
 * (the `reason` label of a drop counter) and the UAC rejects with them. Never rename one.
 */
export type SipErrorCode =
  /** Not a SIP message: bad start line, header line, or header value (RFC 3261 §25). */
  | 'SIP_MALFORMED'
  /** Over the message (64 KiB) or header-count (100) limit. */
  | 'SIP_TOO_LARGE'
  /** Content-Length not a number, or more than the bytes present (RFC 3261 §18.3). */
  | 'SIP_BAD_CONTENT_LENGTH'
  /** Via, From, To, Call-ID or CSeq missing (RFC 3261 §8.1.1). */
  | 'SIP_MISSING_HEADER'
  /** A version other than SIP/2.0 (RFC 3261 §7.1). */
  | 'SIP_UNSUPPORTED_VERSION'
  /** A sip:, sips: or tel: URI that does not parse (RFC 3261 §19.1, RFC 3966). */
  | 'SIP_BAD_URI'
  /** A digest header that does not parse, or an algorithm we do not implement (RFC 7616). */
  | 'SIP_BAD_AUTH'
  /** The transport refused: no listener for the protocol, connection limit, socket error. */
  | 'SIP_TRANSPORT'
  /** A response to a request that matches no transaction (RFC 3261 §17.1.3): dropped. */
  | 'SIP_NO_TRANSACTION'
  /** A client transaction timed out (Timer B or F, RFC 3261 §17.1). */
  | 'SIP_TIMEOUT'
  /** The peer answered with a final non-2xx status (`status` says which). */
  | 'SIP_REJECTED'
  /** The request was cancelled (CANCEL sent or received, RFC 3261 §9). */
  | 'SIP_CANCELLED'
  /** A call or dialog method used in a state where it cannot act (answered twice, BYE after end). */
  | 'SIP_INVALID_STATE'
  /** The user agent is closed. */
  | 'SIP_CLOSED';

export class SipError extends Error {
  override readonly name = 'SipError';
  constructor(
    readonly code: SipErrorCode,
    message: string,
    /** The SIP status behind SIP_REJECTED, when there is one. */
    readonly status?: number,
  ) {
    super(message);
  }
}
