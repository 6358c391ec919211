import type { RtpPacket } from '../../../codecs/src/index.js';
import type { GatewayErrorCode } from '../errors.js';
import type { ReceiverStats } from '../quality/ReceiverStats.js';
import type { RtcpSession } from './RtcpSession.js';

/**
 * The telephony side of a call, whatever its framing: RTP over UDP, RTP inside WebSocket
 * messages, and (to come) SIP-negotiated RTP, a CPaaS media stream's JSON `media` events, an
 * AudioSocket TLV. An edge is a thin envelope: it turns its framing into media packets for the
 * call (`EdgeSink`) and turns the call's outbound frames into its framing. The mirror image of an
 * agent dialect.
 */
export interface Edge {
  /** what it is, for stats and logs ('udp', 'ws', …) */
  readonly kind: string;
  /**
   * How the far end plays what it is sent.
   * - 'clocked': a packet per 20 ms tick, played on arrival by a jitter buffer (RTP). Marks are
   *   reached when their audio has gone out (plus the resampler's delay).
   * - 'buffered': the far end queues what it is sent and plays it at its own pace (CPaaS
   *   streams, Asterisk). The playout still paces in real time, only `leadMs` ahead, so a clear
   *   stops the caller's audio within a tick plus that lead; marks are handed to the edge and reach
   *   the agent only when the edge confirms them (`EdgeSink.played`).
   */
  readonly playback: 'clocked' | 'buffered';
  /** ms of audio the playout may send ahead of real time (buffered edges; 0 for clocked ones) */
  readonly leadMs: number;
  /** The far end holds the call (SIP hold): the playout waits, nothing is lost, the call goes on. */
  readonly paused?: boolean;
  /** RTP edges: the call's RTCP (the far end's reports on our stream, the round trip) */
  readonly rtcp?: RtcpSession;
  /** Binds the call this edge serves; media flows from then on. */
  attach(sink: EdgeSink): void;
  /** One outbound 20 ms frame; the object is reused, read it during the call only. False when dropped. */
  send(frame: OutboundFrame): boolean;
  /** Buffered edges: confirm (through `EdgeSink.played`) once everything sent before it has played. */
  mark(name: string): void;
  /** Buffered edges: drop whatever audio the far end still holds. */
  clear(): void;
  /**
   * Buffered edges whose far end confirms playout: the most audio sent since the last clear that
   * it can have played by `nowMs` (its confirmations bound it), ms. Barge-in's `playedMs` takes
   * the smaller of this and the playout's own estimate (sent minus the lead).
   */
  playedMs?(nowMs: number): number;
  /**
   * Asks the far end to connect the caller to `target` instead (SIP REFER); resolves with the
   * transfer's final status code. Edges that cannot transfer leave it out.
   */
  transfer?(target: string): Promise<number>;
  /** Tells the far end the call ended (where the framing can say so) and releases it. Idempotent. */
  close(reason: string): void;
}

/** What an edge hands its call (the call's inbound leg implements it). */
export interface EdgeSink {
  /** RFC 3550 statistics of the media received (the call's one source): RTP edges' RTCP reports read it */
  readonly receiver?: ReceiverStats;
  /**
   * One media packet in RTP terms: parsed from RTP, or synthesised from a stream's own framing
   * (sequence from its chunk counter, timestamp from its media clock). Borrowed: valid during the
   * call only.
   */
  media(pkt: RtpPacket, arrivalMs: number): void;
  /** A digit the edge received out of band (a stream's dtmf event, SIP INFO). */
  dtmf(digit: string, durationMs: number): void;
  /** The far end confirmed that the audio before mark `name` has played (buffered edges). */
  played(name: string): void;
  /** Input the edge refused, by stable code (counted, never fatal). */
  drop(code: GatewayErrorCode): void;
  /** The far end is gone (socket closed, stream stopped, hang-up): the call ends. */
  ended(reason: 'edge_stop' | 'edge_closed'): void;
}

/** One 20 ms outbound frame, as the playout hands it to the edge each tick. */
export interface OutboundFrame {
  /** 'audio': `payload` is one encoded frame; 'tone': an RFC 4733 event takes the audio's place */
  kind: 'audio' | 'tone';
  /** the encoded frame in the edge's codec (audio), a view */
  payload: Uint8Array;
  /** 20 ms slots since the previous frame: more than 1 after a clock stall (RTP timestamps skip) */
  slots: number;
  /** nothing from the agent: comfort silence that a buffered edge need not send */
  idle: boolean;
  /** tone: RFC 4733 event code (0–15), ms of the tone so far, whether this is its first / end packet */
  event: number;
  elapsedMs: number;
  first: boolean;
  end: boolean;
}

export function createOutboundFrame(): OutboundFrame {
  return { kind: 'audio', payload: new Uint8Array(0), slots: 1, idle: true, event: 0, elapsedMs: 0, first: false, end: false };
}
