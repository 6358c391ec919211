import dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { createOffer, parseAnswer } from '../gateway/src/sip/sdp.js';
import { COMFORT_NOISE_PAYLOAD_TYPE } from '../gateway/src/media/edgeCodecs.js';
import { UserAgent } from '../gateway/src/sip/UserAgent.js';
import { AsteriskWsPeer } from './platforms/AsteriskWsPeer.js';
import { ExotelPeer } from './platforms/ExotelPeer.js';
import { FreeswitchPeer } from './platforms/FreeswitchPeer.js';
import { PlivoPeer } from './platforms/PlivoPeer.js';
import type { StreamPeer } from './platforms/StreamPeer.js';
import { TelnyxPeer } from './platforms/TelnyxPeer.js';
import { TwilioPeer } from './platforms/TwilioPeer.js';
import { VonagePeer } from './platforms/VonagePeer.js';
import { SendClock } from './SendClock.js';
import {
  createRtpPacket,
  g711DecodeInto,
  g711EncodeInto,
  OPUS_FRAME,
  OpusDecoder,
  OpusEncoder,
  tryParseRtp,
  seqDiff,
  tsDiff,
  writeRtp,
  writeTelephoneEvent,
  dtmfEvent,
  isRtcp,
} from '../codecs/src/index.js';

export type StreamPlatform = 'twilio' | 'telnyx' | 'exotel' | 'plivo' | 'vobiz' | 'vonage' | 'asterisk' | 'freeswitch';
export type Transport = 'udp' | 'ws' | 'sip' | StreamPlatform;
export const STREAM_PLATFORMS: readonly StreamPlatform[] = [
  'twilio',
  'telnyx',
  'exotel',
  'plivo',
  'vobiz',
  'vonage',
  'asterisk',
  'freeswitch',
];
export type CallerCodec = 'PCMU' | 'PCMA' | 'opus';

export interface CallOptions {
  gateway: string; // http://host:port
  transport: Transport;
  codec?: CallerCodec;
  from?: string;
  to?: string;
  route?: unknown;
  /** ws:// URL of the edge WebSocket when it is not `${gateway}/v1/edge` (the bench's `ws` server) */
  edgeUrl?: string;
  /** 'sip': the gateway's SIP address, host:port (the call is routed by `to` through its routing table) */
  sip?: string;
  /** sent with the call request (udp, ws) and `end()`: e.g. `authorization` when the gateway wants a JWT */
  headers?: Record<string, string>;
}

export interface ReceivedPacket {
  seq: number;
  ts: number;
  pt: number;
  ssrc: number;
  marker: boolean;
  payload: Uint8Array;
  arrivalMs: number;
}

export interface SentPacket {
  seq: number;
  /** index of the 20 ms frame in the sent audio */
  frame: number;
  sentMs: number;
  /** when the packet left for the network: `sentMs`, or later for one held back as network delay (`stream`'s `delay`) */
  wireMs: number;
}

/**
 * A simulated telephony edge (test peer, bench load generator and CLI): places a call through
 * the gateway over UDP (POST /v1/calls) or over WebSocket (/v1/edge), sends audio as real-time
 * paced RTP, and records what comes back with arrival times.
 */
export class RtpCaller {
  readonly codec: CallerCodec;
  readonly callId: string;
  readonly received: ReceivedPacket[] = [];
  readonly sent: SentPacket[] = [];
  /** RTCP compound packets received (SIP calls: the gateway's sender reports, RFC 3550 §6.4.1) */
  readonly rtcp: { data: Uint8Array; arrivalMs: number }[] = [];
  readonly #send: (pkt: Uint8Array) => void;
  readonly #close: () => Promise<void>;
  readonly #gateway: string;
  #headers: Record<string, string> = {};
  /** stop reason sent by the gateway over WS, if any */
  stopReason: string | null = null;
  #seq = Math.floor(Math.random() * 0xffff);
  #ts = Math.floor(Math.random() * 0xffffffff) >>> 0;
  readonly #ssrc = (Math.random() * 0xffffffff) >>> 0;
  readonly #pt: number;
  #first = true;
  readonly #opusEnc: OpusEncoder | null;
  readonly #buf = new Uint8Array(1500);
  #closed = false;
  /** stream platforms: frames go as PCM to the platform peer instead of RTP */
  #pcmSink: ((pcm: Int16Array) => void) | null = null;

  private constructor(
    gateway: string,
    codec: CallerCodec,
    callId: string,
    pt: number,
    send: (pkt: Uint8Array) => void,
    close: () => Promise<void>,
  ) {
    this.#gateway = gateway;
    this.codec = codec;
    this.callId = callId;
    this.#pt = pt;
    this.#send = send;
    this.#close = close;
    this.#opusEnc = codec === 'opus' ? new OpusEncoder() : null;
  }

  static async place(o: CallOptions): Promise<RtpCaller> {
    const codec = o.codec ?? 'PCMU';
    const body: Record<string, unknown> = { codec };
    if (o.from !== undefined) body['from'] = o.from;
    if (o.to !== undefined) body['to'] = o.to;
    if (o.route !== undefined) body['route'] = o.route;
    if (o.transport === 'sip') return RtpCaller.#sip(o.gateway, codec, o.sip ?? '', o.to ?? '+14155550100');
    if (o.transport !== 'udp' && o.transport !== 'ws') return RtpCaller.#stream(o.gateway, o.transport);
    const headers = o.headers ?? {};
    const caller = await (o.transport === 'udp'
      ? RtpCaller.#udp(o.gateway, codec, body, headers)
      : RtpCaller.#ws(o.gateway, codec, body, o.edgeUrl, headers));
    caller.#headers = headers;
    return caller;
  }

  /**
   * A phone behind a CPaaS platform or PBX that streams its calls (testkit/platforms: each
   * written from the vendor's docs): the platform's webhook or handshake, then its media stream
   * carrying the same 20 ms frames the RTP phone sends. What the gateway streams back is queued
   * by the platform's player; the bench reads it back as packets as it arrived (a `clear` counts
   * as silence from the moment it arrives: the platform drops its buffer then). Each call gets a
   * fresh called number, routed through the gateway's routing table.
   */
  static async #stream(gateway: string, platform: StreamPlatform): Promise<RtpCaller> {
    const to = `+1415${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`;
    const o = { gateway, from: '+14155550123', to };
    const peer: StreamPeer = await (platform === 'vobiz' ? PlivoPeer.call({ ...o, vobiz: true }) : STREAM_PEERS[platform].call(o));
    peer.player.keepReceived = true;
    let callId = '';
    for (let i = 0; i < 100 && callId === ''; i++) {
      const list = (await (await fetch(`${gateway}/v1/calls`)).json()) as { calls: { callId: string; to: string }[] };
      callId = list.calls.find((c) => c.to === to)?.callId ?? '';
      if (callId === '') await sleep(20);
    }
    const rate = peer.player.rate;
    const caller: RtpCaller = new RtpCaller(
      gateway,
      'PCMU',
      callId,
      0,
      () => {},
      () => {
        caller.received.push(...streamReceived(peer.player.received, peer.player.clears, rate));
        peer.hangup();
        return Promise.resolve();
      },
    );
    // the phone's 8 kHz frames, at the platform's rate, in its own media messages
    caller.#pcmSink = (pcm) => {
      (peer as unknown as { frame(p: Int16Array): void }).frame(rate === 8000 ? pcm : upsample2(pcm));
    };
    return caller;
  }

  /**
   * A phone calling the gateway over SIP: its own user agent (the gateway's SIP stack, as a UAC),
   * an SDP offer for `codec`, then RTP as over UDP to the answer's address. The call id is found
   * through the API by the dialog's Call-ID (start.params.sipCallId).
   */
  static async #sip(gateway: string, codec: CallerCodec, sipHostPort: string, to: string): Promise<RtpCaller> {
    const ua = await UserAgent.create({ listen: [{ protocol: 'udp', host: '127.0.0.1', port: 0 }] });
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    const adopt = collect(sock);
    const offer = createOffer({ address: '127.0.0.1', port: sock.address().port, codecs: [codec] });
    const dialog = await ua.invite(`sip:${to}@${sipHostPort}`, offer, { from: 'sip:+14155550123@127.0.0.1' });
    const m = parseAnswer(dialog.remoteSdp, [codec]);
    if (m === null) throw new Error('the gateway answered with no usable SDP');
    let callId = '';
    for (let i = 0; i < 100 && callId === ''; i++) {
      const list = (await (await fetch(`${gateway}/v1/calls`)).json()) as { calls: { callId: string; params?: Record<string, unknown> }[] };
      callId = list.calls.find((c) => c.params?.['sipCallId'] === dialog.callId)?.callId ?? '';
      if (callId === '') await sleep(20);
    }
    return adopt(
      new RtpCaller(
        gateway,
        codec,
        callId,
        m.payloadType,
        (pkt) => sock.send(pkt, m.remotePort, m.remoteAddress),
        async () => {
          await dialog.bye().catch(() => undefined);
          await ua.close();
          sock.close();
        },
      ),
    );
  }

  static async #udp(
    gateway: string,
    codec: CallerCodec,
    body: Record<string, unknown>,
    headers: Record<string, string>,
  ): Promise<RtpCaller> {
    const res = await fetch(`${gateway}/v1/calls`, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json', ...headers },
    });
    const json = (await res.json()) as {
      callId: string;
      rtp: { host: string; port: number };
      payloadType: number;
      error?: { code: string; message: string };
    };
    if (res.status !== 201) throw new Error(`POST /v1/calls → ${res.status} ${JSON.stringify(json)}`);
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    return collect(sock)(
      new RtpCaller(
        gateway,
        codec,
        json.callId,
        json.payloadType,
        (pkt) => sock.send(pkt, json.rtp.port, json.rtp.host),
        () => {
          sock.close();
          return Promise.resolve();
        },
      ),
    );
  }

  static async #ws(
    gateway: string,
    codec: CallerCodec,
    body: Record<string, unknown>,
    edgeUrl: string | undefined,
    headers: Record<string, string>,
  ): Promise<RtpCaller> {
    const ws = new WebSocket(edgeUrl ?? `${gateway.replace(/^http/, 'ws')}/v1/edge`, { headers });
    ws.binaryType = 'nodebuffer';
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    let caller: RtpCaller | null = null;
    let stopped: string | null = null;
    const started = new Promise<{ callId: string; payloadType: number }>((resolve, reject) => {
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        if (isBinary) {
          const p = parsePacket(data, performance.now());
          if (p && caller) caller.received.push(p);
          return;
        }
        const msg = JSON.parse(data.toString()) as {
          event: string;
          callId?: string;
          payloadType?: number;
          reason?: string;
          code?: string;
          message?: string;
        };
        if (msg.event === 'started') resolve({ callId: msg.callId!, payloadType: msg.payloadType! });
        // A call can end in the same read as it started (an agent refused at once): keep the reason for the caller.
        else if (msg.event === 'stop') {
          stopped = msg.reason ?? '';
          if (caller) caller.stopReason = stopped;
        } else if (msg.event === 'error' && !caller) reject(new Error(`${msg.code}: ${msg.message}`));
      });
      ws.once('close', () => reject(new Error('edge socket closed before start')));
    });
    ws.send(JSON.stringify({ event: 'start', ...body }));
    const s = await started;
    caller = new RtpCaller(
      gateway,
      codec,
      s.callId,
      s.payloadType,
      (pkt) => {
        if (ws.readyState === WebSocket.OPEN) ws.send(pkt, { binary: true });
      },
      () => {
        if (ws.readyState === WebSocket.OPEN) {
          ws.send(JSON.stringify({ event: 'stop' }));
          ws.close();
        }
        return Promise.resolve();
      },
    );
    caller.stopReason = stopped;
    return caller;
  }

  get pcmRate(): number {
    return this.codec === 'opus' ? 48000 : 8000;
  }

  get frameSamples(): number {
    return this.codec === 'opus' ? OPUS_FRAME : 160;
  }

  /** Sends one 20 ms frame now, or (`delayMs` > 0, RTP only) holds its packet that long: network delay. */
  sendFrame(pcm: Int16Array, frameIndex: number, delayMs = 0): number {
    if (this.#pcmSink !== null) {
      this.#pcmSink(pcm);
      const at = performance.now();
      this.sent.push({ seq: frameIndex & 0xffff, frame: frameIndex, sentMs: at, wireMs: at });
      return at;
    }
    let payload: Uint8Array;
    if (this.#opusEnc) payload = this.#opusEnc.encode(pcm);
    else {
      payload = new Uint8Array(160);
      g711EncodeInto(this.codec === 'PCMU' ? 'ulaw' : 'alaw', pcm, payload);
    }
    const seq = this.#takeSeq();
    const h = { marker: this.#first, payloadType: this.#pt, sequenceNumber: seq, timestamp: this.#ts, ssrc: this.#ssrc };
    if (delayMs <= 0) this.sendRaw(h, payload);
    const now = performance.now();
    const record: SentPacket = { seq, frame: frameIndex, sentMs: now, wireMs: now };
    this.sent.push(record);
    if (delayMs > 0) {
      const pkt = this.#buf.slice(0, writeRtp(this.#buf, 0, h, payload));
      const sent = this.#sendLater(pkt, delayMs, record);
      this.#delayed = Promise.all([this.#delayed, sent]).then(() => undefined);
    }
    this.#first = false;
    this.#ts = (this.#ts + this.frameSamples) >>> 0;
    return now;
  }

  /** The stream's next sequence number, taken (RFC 3550 §5.1: one per packet sent, or lost on the way). */
  #takeSeq(): number {
    const seq = this.#seq;
    this.#seq = (seq + 1) & 0xffff;
    return seq;
  }

  #delayed: Promise<void> = Promise.resolve();

  #sendLater(pkt: Uint8Array, ms: number, record: SentPacket): Promise<void> {
    return new Promise((resolve) =>
      setTimeout(() => {
        if (!this.#closed) {
          record.wireMs = performance.now();
          this.#send(pkt);
        }
        resolve();
      }, ms),
    );
  }

  /** Sends an arbitrary RTP packet (for DTMF and fault injection). */
  sendRaw(h: Parameters<typeof writeRtp>[2], payload: Uint8Array): void {
    const n = writeRtp(this.#buf, 0, h, payload);
    this.#send(this.#buf.slice(0, n));
  }

  /** Sends bytes as they are (malformed packets in tests). */
  sendBytes(bytes: Uint8Array): void {
    this.#send(bytes);
  }

  /**
   * Streams `pcm` (at pcmRate) as real-time paced 20 ms packets on an absolute schedule starting
   * `phaseMs` from now. Resolves when the last packet is sent. `drop(k)` skips frame k (loss);
   * `delay(k)` holds frame k's packet that many ms on its way (network jitter; RTP transports);
   * `suppress(k)`: frame k is silence the phone does not send (RFC 3551 §4.1: the timestamp moves
   * on, the sequence number does not, the next talkspurt is marked). A run of them sends an RFC 3389
   * comfort-noise packet (payload type 13, the noise at −70 dBov) as it begins and every
   * `comfortNoiseMs` (100 unless set, WebRTC's interval) after; `drop(k)` on a frame that would
   * carry one loses it on the way. Paced by a `SendClock`: held back by a stall of the event loop,
   * the phone resumes its pace rather than sending the whole stall at once.
   */
  async stream(
    pcm: Int16Array,
    opts: {
      phaseMs?: number;
      drop?: (k: number) => boolean;
      delay?: (k: number) => number;
      suppress?: (k: number) => boolean;
      comfortNoiseMs?: number;
      signal?: AbortSignal;
    } = {},
  ): Promise<void> {
    const n = this.frameSamples;
    const frames = Math.floor(pcm.length / n);
    const clock = new SendClock(20, opts.phaseMs ?? 0);
    const cnEvery = Math.max(1, Math.round((opts.comfortNoiseMs ?? 100) / 20));
    let quiet = 0; // suppressed frames in a row so far
    for (let k = 0; k < frames; k++) {
      if (this.#closed || opts.signal?.aborted) return;
      await clock.due(k);
      if (opts.suppress?.(k)) {
        if (quiet++ % cnEvery === 0) {
          const h = {
            marker: false,
            payloadType: COMFORT_NOISE_PAYLOAD_TYPE,
            sequenceNumber: this.#takeSeq(),
            timestamp: this.#ts,
            ssrc: this.#ssrc,
          };
          if (opts.drop?.(k) !== true) this.sendRaw(h, Uint8Array.of(70));
        }
        this.#ts = (this.#ts + this.frameSamples) >>> 0;
        this.#first = true;
        continue;
      }
      quiet = 0;
      if (opts.drop?.(k)) {
        // keep numbering as if sent (it was lost on the way)
        this.#takeSeq();
        this.#ts = (this.#ts + this.frameSamples) >>> 0;
        continue;
      }
      this.sendFrame(pcm.subarray(k * n, (k + 1) * n), k, opts.delay?.(k) ?? 0);
    }
    await this.#delayed;
  }

  /**
   * Sends one RFC 4733 digit: 5 updates over 100 ms, then 3 end packets (§2.5.1), its duration on
   * the codec's clock (telephone-event is negotiated at the codec's rate). `ssrc`: from another
   * source than the audio (some peers' DTMF generators have their own), numbered on its own while
   * the audio goes on. From the audio's own source, each packet takes the stream's next sequence
   * number as it is sent, so audio streamed meanwhile (`stream`) and the digit never share one: the
   * receiver would keep whichever came first and drop the other as a copy.
   */
  async sendDtmf(digit: string, dtmfPt = 101, ssrc?: number): Promise<void> {
    const event = dtmfEvent(digit);
    if (event === null) throw new Error(`not a DTMF digit: ${digit}`);
    const own = ssrc === undefined;
    const ts = this.#ts;
    const payload = new Uint8Array(4);
    for (let k = 1; k <= 8; k++) {
      const end = k >= 6;
      writeTelephoneEvent(payload, 0, { event, end, volume: 10, duration: Math.min(k, 5) * this.frameSamples });
      const seq = own ? this.#takeSeq() : 999 + k;
      this.sendRaw({ marker: k === 1, payloadType: dtmfPt, sequenceNumber: seq, timestamp: ts, ssrc: ssrc ?? this.#ssrc }, payload);
      await sleep(20);
    }
    // Alone, the digit's 8 frames pass on the clock before the next audio; audio streamed meanwhile
    // has moved the clock on itself.
    if (own && this.#ts === ts) this.#ts = (ts + 8 * this.frameSamples) >>> 0;
  }

  /**
   * Decodes the received audio packets onto a timeline by RTP timestamp (gaps stay silent).
   * `closeGaps`: a packet that is the next in sequence follows the one before it by one frame, so
   * the slots a stalled clock skipped (a loaded machine) close up: what the gateway sent, not when.
   * Losses, reordering and digits keep their timestamps' place.
   */
  recording(opts: { closeGaps?: boolean } = {}): Int16Array {
    const audio = this.received.filter((p) => p.pt !== 101);
    if (audio.length === 0) return new Int16Array(0);
    // Both G.711 and Opus (RFC 7587) carry one timestamp unit per PCM sample at pcmRate.
    const offsets = [0];
    for (let i = 1; i < audio.length; i++) {
      const [a, b] = [audio[i - 1]!, audio[i]!];
      const skipped = opts.closeGaps === true && seqDiff(a.seq, b.seq) === 1;
      offsets.push(offsets[i - 1]! + (skipped ? Math.min(tsDiff(a.ts, b.ts), this.frameSamples) : tsDiff(a.ts, b.ts)));
    }
    const out = new Int16Array(offsets.at(-1)! + this.frameSamples);
    const dec = this.codec === 'opus' ? new OpusDecoder() : null;
    const frame = new Int16Array(5760);
    for (const [i, p] of audio.entries()) {
      const off = offsets[i]!;
      if (off < 0 || off >= out.length) continue;
      const n = dec ? dec.decode(p.payload, frame) : g711DecodeInto(this.codec === 'PCMU' ? 'ulaw' : 'alaw', p.payload, frame);
      out.set(frame.subarray(0, Math.min(n, out.length - off)), off);
    }
    return out;
  }

  async hangup(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#opusEnc) this.#opusEnc.close();
    await this.#close();
  }

  /** DELETE /v1/calls/{id} (UDP calls have no in-band stop). */
  async end(): Promise<void> {
    await fetch(`${this.#gateway}/v1/calls/${this.callId}`, { method: 'DELETE', headers: this.#headers });
    await this.hangup();
  }
}

const scratch = createRtpPacket();

/**
 * Collects what arrives on `sock` from now on: RTCP apart, RTP parsed on arrival. Listening from
 * before the INVITE is answered keeps what the gateway sends while the caller is being set up
 * (its first packets can beat the API's listing of the call); the returned function hands all
 * that to the caller, and everything after it goes to the caller directly.
 */
function collect(sock: dgram.Socket): (caller: RtpCaller) => RtpCaller {
  let caller: RtpCaller | null = null;
  const received: ReceivedPacket[] = [];
  const rtcp: RtpCaller['rtcp'] = [];
  sock.on('message', (msg) => {
    if (isRtcp(msg)) return void (caller?.rtcp ?? rtcp).push({ data: new Uint8Array(msg), arrivalMs: performance.now() });
    const p = parsePacket(msg, performance.now());
    if (p) (caller?.received ?? received).push(p);
  });
  return (c) => {
    c.received.push(...received);
    c.rtcp.push(...rtcp);
    caller = c;
    return c;
  };
}

function parsePacket(buf: Uint8Array, arrivalMs: number): ReceivedPacket | null {
  // RTCP shares the port with rtcp-mux (RFC 5761): sender reports are not media.
  if (isRtcp(buf) || tryParseRtp(buf, scratch) !== null) return null;
  return {
    seq: scratch.sequenceNumber,
    ts: scratch.timestamp,
    pt: scratch.payloadType,
    ssrc: scratch.ssrc,
    marker: scratch.marker,
    payload: scratch.payload.slice(),
    arrivalMs,
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

type PeerCall = (o: { gateway: string; from: string; to: string }) => Promise<StreamPeer>;
const STREAM_PEERS: Record<Exclude<StreamPlatform, 'vobiz'>, { call: PeerCall }> = {
  twilio: TwilioPeer,
  telnyx: TelnyxPeer,
  exotel: ExotelPeer,
  plivo: PlivoPeer,
  vonage: VonagePeer,
  asterisk: AsteriskWsPeer,
  freeswitch: FreeswitchPeer,
};

/** 8 → 16 kHz by linear interpolation (good enough for latency and audibility checks). */
function upsample2(pcm: Int16Array): Int16Array {
  const out = new Int16Array(pcm.length * 2);
  for (let i = 0; i < pcm.length; i++) {
    const a = pcm[i]!;
    const b = pcm[i + 1] ?? a;
    out[2 * i] = a;
    out[2 * i + 1] = (a + b) >> 1;
  }
  return out;
}

/** What a platform received, as 20 ms µ-law packets at 8 kHz with their arrival times; each clear as a silent one. */
function streamReceived(chunks: readonly { atMs: number; pcm: Int16Array }[], clears: readonly number[], rate: number): ReceivedPacket[] {
  const step = rate / 8000;
  const out: { arrivalMs: number; payload: Uint8Array }[] = [];
  for (const { atMs, pcm } of chunks)
    for (let o = 0; o + 20 * (rate / 1000) <= pcm.length; o += 20 * (rate / 1000)) {
      const frame = new Int16Array(160);
      for (let i = 0; i < 160; i++) frame[i] = pcm[o + i * step]!;
      const payload = new Uint8Array(160);
      g711EncodeInto('ulaw', frame, payload);
      out.push({ arrivalMs: atMs, payload });
    }
  for (const atMs of clears) out.push({ arrivalMs: atMs, payload: new Uint8Array(160).fill(0xff) });
  out.sort((a, b) => a.arrivalMs - b.arrivalMs);
  return out.map((p, k) => ({ seq: k & 0xffff, ts: 160 * k, pt: 0, ssrc: 0, marker: false, payload: p.payload, arrivalMs: p.arrivalMs }));
}
