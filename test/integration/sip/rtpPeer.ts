import dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import {
  dtmfEvent,
  g711DecodeInto,
  g711EncodeInto,
  parseTelephoneEvent,
  writeRtp,
  writeTelephoneEvent,
  type TelephoneEvent,
} from '../../../codecs/src/index.js';
import { SendClock } from '../../../testkit/SendClock.js';

export interface Rx {
  pt: number;
  seq: number;
  ts: number;
  ssrc: number;
  marker: boolean;
  payload: Uint8Array;
  arrivalMs: number;
}

/**
 * The media end of a SIP peer whose signalling SIPp plays: a UDP socket the SDP names, recording
 * what arrives (RTP, and RTCP by its packet type, RFC 5761 §4) and sending G.711 RTP,
 * RFC 4733 events and RTCP receiver reports from its own port.
 */
export class RtpPeer {
  readonly rtp: Rx[] = [];
  /** RTCP packets received: their first packet type (200 SR, 201 RR, …) */
  readonly rtcp: { pt: number; arrivalMs: number }[] = [];
  readonly #sock: dgram.Socket;
  readonly #ssrc = (Math.random() * 0xffffffff) >>> 0;
  #seq = 1000;
  #ts = 50_000;

  private constructor(sock: dgram.Socket) {
    this.#sock = sock;
    sock.on('message', (buf) => {
      const arrivalMs = performance.now();
      if (buf.length < 12 || buf[0]! >> 6 !== 2) return;
      const pt2 = buf[1]!;
      // RFC 5761 §4: RTCP packet types 192–223 occupy the second byte where RTP has M+PT.
      if (pt2 >= 192 && pt2 <= 223) return void this.rtcp.push({ pt: pt2, arrivalMs });
      const cc = buf[0]! & 0x0f;
      this.rtp.push({
        pt: pt2 & 0x7f,
        marker: (pt2 & 0x80) !== 0,
        seq: buf.readUInt16BE(2),
        ts: buf.readUInt32BE(4),
        ssrc: buf.readUInt32BE(8),
        payload: new Uint8Array(buf.subarray(12 + 4 * cc)),
        arrivalMs,
      });
    });
  }

  /** A media end on `host` (any loopback address), sending to the gateway on 127.0.0.1. */
  static async open(host = '127.0.0.1'): Promise<RtpPeer> {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, host, () => r()));
    return new RtpPeer(s);
  }

  get port(): number {
    return this.#sock.address().port;
  }

  /** Audio packets of payload type `pt`, decoded as µ-law and concatenated. */
  audio(pt = 0): Int16Array {
    const pkts = this.rtp.filter((p) => p.pt === pt);
    const out = new Int16Array(pkts.reduce((a, p) => a + p.payload.length, 0));
    let o = 0;
    for (const p of pkts) {
      g711DecodeInto('ulaw', p.payload, out.subarray(o, o + p.payload.length));
      o += p.payload.length;
    }
    return out;
  }

  /** RFC 4733 events received at payload type `pt`. */
  events(pt: number): TelephoneEvent[] {
    return this.rtp.filter((p) => p.pt === pt).map((p) => parseTelephoneEvent(p.payload));
  }

  #send(pt: number, marker: boolean, ts: number, payload: Uint8Array, port: number): void {
    const buf = new Uint8Array(12 + payload.length);
    writeRtp(buf, 0, { payloadType: pt, marker, sequenceNumber: this.#seq, timestamp: ts, ssrc: this.#ssrc }, payload);
    this.#seq = (this.#seq + 1) & 0xffff;
    this.#sock.send(buf, port, '127.0.0.1');
  }

  /** Sends `pcm` (8 kHz) as µ-law RTP, one packet per 20 ms, paced in real time by a `SendClock`. */
  async streamUlaw(pcm: Int16Array, port: number): Promise<void> {
    const clock = new SendClock(20);
    const codes = new Uint8Array(160);
    for (let k = 0; (k + 1) * 160 <= pcm.length; k++) {
      await clock.due(k);
      g711EncodeInto('ulaw', pcm.subarray(k * 160, (k + 1) * 160), codes);
      this.#send(0, k === 0, this.#ts, codes, port);
      this.#ts = (this.#ts + 160) >>> 0;
    }
  }

  /** An RFC 4733 digit at payload type `pt`: 5 packets 20 ms apart, the last 3 with E set (§2.5.1.4). */
  async sendDigit(digit: string, pt: number, port: number): Promise<void> {
    const ev = dtmfEvent(digit)!;
    const ts = this.#ts;
    const payload = new Uint8Array(4);
    for (let i = 1; i <= 7; i++) {
      const end = i >= 5;
      writeTelephoneEvent(payload, 0, { event: ev, end, volume: 10, duration: Math.min(i, 5) * 160 });
      this.#send(pt, i === 1, ts, payload, port);
      await new Promise((r) => setTimeout(r, end ? 5 : 20));
    }
    this.#ts = (this.#ts + 7 * 160) >>> 0;
  }

  /** An RTCP receiver report (RFC 3550 §6.4.2) with no report block, plus SDES CNAME. */
  sendReceiverReport(port: number): void {
    const rr = Buffer.alloc(8);
    rr[0] = 0x80;
    rr[1] = 201;
    rr.writeUInt16BE(1, 2);
    rr.writeUInt32BE(this.#ssrc, 4);
    const cname = Buffer.from('rtppeer@test');
    const sdesLen = Math.ceil((4 + 2 + cname.length + 1) / 4) * 4 + 4;
    const sdes = Buffer.alloc(sdesLen);
    sdes[0] = 0x81;
    sdes[1] = 202;
    sdes.writeUInt16BE(sdesLen / 4 - 1, 2);
    sdes.writeUInt32BE(this.#ssrc, 4);
    sdes[8] = 1;
    sdes[9] = cname.length;
    cname.copy(sdes, 10);
    this.#sock.send(Buffer.concat([rr, sdes]), port, '127.0.0.1');
  }

  close(): void {
    this.#sock.close();
  }
}

/** 8 kHz test speech as Int16 from a Float32 resampler output. */
export function toInt16(x: Float32Array): Int16Array {
  return Int16Array.from(x, (v) => Math.max(-32768, Math.min(32767, Math.round(v))));
}
