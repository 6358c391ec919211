/** The telephony side of a call: where its RTP goes. */
export interface EdgeTransport {
  readonly kind: 'udp' | 'ws';
  /** Sends one RTP packet (synchronously, or it is copied). False when dropped. */
  send(pkt: Uint8Array): boolean;
  /** Tells the edge the call ended (where the transport can say so) and releases it. Idempotent. */
  close(reason: string): void;
}
