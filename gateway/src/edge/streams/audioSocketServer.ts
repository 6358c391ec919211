import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { GatewayError } from '../../errors.js';
import { log } from '../../log.js';
import { CODEC_INFO, DTMF_PAYLOAD_TYPE } from '../../media/edgeCodecs.js';
import { AudioSocketReader, type AudioSocketFrame } from '../../platforms/asterisk.js';
import { TokenBucket } from '../../rateLimit.js';
import { SocketInbox } from '../../SocketInbox.js';
import type { EdgeHost } from '../WsEdgeConnection.js';
import { AudioSocketEdge } from './AudioSocketEdge.js';
import type { PlatformSettings } from './platformSettings.js';
import { CONTROL_BURST, CONTROL_RATE, streamBudget } from './StreamConnection.js';
import { StreamFraming } from './StreamFraming.js';

export interface AudioSocketServer {
  readonly port: number;
  close(): Promise<void>;
}

/** A connection must say who it is (UUID, then audio) within this long. */
const HELLO_TIMEOUT_MS = 10_000;

/**
 * The AudioSocket TCP server (AUDIOSOCKET_PORT; not started when unset): Asterisk's
 * `AudioSocket(<uuid>,host:port)` or `Dial(AudioSocket/host:port/<uuid>[/c(slin16)])` connects,
 * sends the call's UUID, then slin audio; the call is created at the first audio frame (its type
 * says the rate: 8 or 16 kHz) on the default route, and logged with the UUID. AudioSocket has no
 * authentication: bind it to a private address (AUDIOSOCKET_HOST).
 */
export async function startAudioSocketServer(host: EdgeHost & { settings: PlatformSettings }): Promise<AudioSocketServer | null> {
  const { audioSocketPort: port, audioSocketHost: bind } = host.settings;
  if (port === null) return null;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.once('close', () => sockets.delete(sock));
    sock.setNoDelay(true);
    new AudioSocketConnection(sock, host);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, bind, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = (server.address() as net.AddressInfo).port;
  log('info', 'audiosocket_listening', { host: bind, port: bound });
  return {
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * One AudioSocket connection. Its frames are budgeted like a platform stream's (streamBudget;
 * beyond, EDGE_FLOOD, and far beyond the connection is hung up) and handled a few dozen per
 * event-loop turn: while frames wait, the socket is paused, so the kernel holds the rest.
 */
class AudioSocketConnection {
  readonly #sock: net.Socket;
  readonly #host: EdgeHost;
  readonly #reader = new AudioSocketReader();
  readonly #inbox: SocketInbox<AudioSocketFrame>;
  readonly #control = new TokenBucket(CONTROL_RATE, CONTROL_BURST);
  #uuid: string | null = null;
  #edge: AudioSocketEdge | null = null;
  #done = false;

  constructor(sock: net.Socket, host: EdgeHost) {
    this.#sock = sock;
    this.#host = host;
    this.#inbox = new SocketInbox<AudioSocketFrame>({
      ...streamBudget(host),
      handle: (f, _flag, arrivalMs) => {
        this.#frame(f, arrivalMs);
      },
      // a frame's audio is a view into the read it came in, which nothing reuses
      keep: (f) => f,
      size: (f) => (f.kind === 'audio' ? f.pcm.length : 3),
      flooded: (n) => {
        host.metrics.drops.inc({ reason: 'EDGE_FLOOD' }, n);
      },
      cutoff: () => {
        log('warn', 'audiosocket_refused', { uuid: this.#uuid, code: 'EDGE_FLOOD', reason: 'frame flood' });
        this.#done = true;
        // its call hangs up (a hang-up frame, then the close); before the call, the socket ends here
        if (this.#edge !== null) this.#edge.ended('edge_stop');
        else this.#sock.end(Uint8Array.of(0, 0, 0));
      },
      pause: () => sock.pause(),
      resume: () => sock.resume(),
    });
    sock.setTimeout(HELLO_TIMEOUT_MS, () => {
      if (this.#edge === null) this.#refuse(new GatewayError('CONTROL_INVALID', 'no UUID and audio in time'));
    });
    sock.on('data', (chunk: Buffer) => {
      this.#data(chunk);
    });
    sock.on('close', () => {
      this.#inbox.end(() => {
        this.#done = true;
        this.#inbox.close();
        this.#edge?.ended('edge_closed');
      });
    });
    sock.on('error', () => {}); // a reset peer: 'close' follows
  }

  #data(chunk: Buffer): void {
    if (this.#done) return;
    const now = performance.now();
    const r = this.#reader.push(chunk);
    if (!r.ok) {
      // The TLV stream cannot be resynchronised: this call ends, no other is touched.
      if (this.#edge?.sink) this.#edge.sink.drop(r.code);
      else this.#host.metrics.drops.inc({ reason: r.code });
      log('warn', 'audiosocket_invalid', { uuid: this.#uuid, reason: r.reason });
      this.#done = true;
      if (this.#edge !== null) this.#edge.ended('edge_stop');
      else this.#sock.destroy();
      return;
    }
    for (const f of r.msg) this.#inbox.push(f, false, now);
  }

  #frame(f: AudioSocketFrame, now: number): void {
    if (this.#done) return;
    if (f.kind !== 'audio' && !this.#control.take(now)) return this.#inbox.over();
    const edge = this.#edge;
    switch (f.kind) {
      case 'uuid':
        if (this.#uuid !== null) return this.#drop('second UUID frame');
        this.#uuid = f.uuid;
        return;
      case 'audio':
        if (edge !== null) {
          edge.framing.push(f.pcm, now);
          return;
        }
        if (this.#uuid === null) return this.#drop('audio before the UUID');
        if (f.rate !== 8000 && f.rate !== 16000) return this.#refuse(new GatewayError('CODEC_UNSUPPORTED', `slin at ${f.rate} Hz`));
        this.#start(f.rate);
        this.#edge?.framing.push(f.pcm, now);
        return;
      case 'dtmf':
        if (edge === null) return this.#drop('DTMF before audio');
        return edge.sink?.dtmf(f.digit, 0);
      case 'hangup':
        this.#done = true;
        if (edge === null) return void this.#sock.end();
        return edge.ended('edge_stop');
      case 'error':
        log('warn', 'audiosocket_error', { uuid: this.#uuid, code: f.code });
        this.#done = true;
        if (edge === null) return void this.#sock.end();
        return edge.ended('edge_stop');
    }
  }

  #start(rate: 8000 | 16000): void {
    const codec = rate === 8000 ? 'slin8' : 'slin16';
    const info = CODEC_INFO[codec];
    try {
      this.#host.registry.admit();
      const edge = new AudioSocketEdge(this.#sock, new StreamFraming(codec, info.payloadType), rate);
      this.#edge = edge;
      const call = this.#host.registry.create(
        {
          codec,
          payloadType: info.payloadType,
          dtmfPayloadType: DTMF_PAYLOAD_TYPE,
          from: '',
          to: '',
          route: this.#host.routing.lookup(undefined),
        },
        edge,
      );
      this.#sock.setTimeout(0);
      log('info', 'audiosocket_call', { uuid: this.#uuid, callId: call.id, rate });
    } catch (err) {
      this.#edge = null;
      this.#refuse(err instanceof GatewayError ? err : new GatewayError('INTERNAL', String(err)));
    }
  }

  #drop(reason: string): void {
    if (this.#edge?.sink) return this.#edge.sink.drop('CONTROL_INVALID');
    this.#host.metrics.drops.inc({ reason: 'CONTROL_INVALID' });
    log('warn', 'audiosocket_invalid', { uuid: this.#uuid, reason });
  }

  #refuse(e: GatewayError): void {
    this.#host.metrics.rejected.inc({ reason: e.code });
    log('warn', 'audiosocket_refused', { uuid: this.#uuid, code: e.code, reason: e.message });
    this.#done = true;
    // Asterisk reads a hang-up frame as "the far end is done"
    this.#sock.end(Uint8Array.of(0, 0, 0));
  }
}
