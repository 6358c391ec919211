import { createRtpPacket, rmsDbfs, type loadResamplerModule } from '../../../codecs/src/index.js';
import type { Agent, GatewayEvent } from '../../../gateway/src/agent/Agent.js';
import { Call } from '../../../gateway/src/call/Call.js';
import type { Edge } from '../../../gateway/src/edge/Edge.js';
import type { DspPool } from '../../../gateway/src/media/DspPool.js';
import { CODEC_INFO, COMFORT_NOISE_PAYLOAD_TYPE, type EdgeCodecName } from '../../../gateway/src/media/edgeCodecs.js';
import type { Metrics } from '../../../gateway/src/metrics.js';
import { parseRoute } from '../../../gateway/src/route.js';
import type { EchoPath } from './echoPaths.js';
import type { PacketLoss } from './packetLoss.js';
import { PhoneLine } from './phoneLine.js';
import { noise, RATE, type Beds, type NoiseKind } from './signals.js';

export type Kind = 'interruption' | 'backchannel' | 'cough' | 'click' | 'echo-only' | 'noise-only';

export interface Trial {
  kind: Kind;
  /** the agent's utterance, 8 kHz */
  agentPcm: Float32Array;
  agent: string;
  event: Float32Array | null;
  /** caller timeline position of the event, s */
  eventAt: number;
  /** ground-truth speech onset, s (interruptions, backchannels) */
  onset: number;
  path: EchoPath;
  /** the path's response scaled to the trial's ERL */
  h: Float32Array;
  noise: NoiseKind | 'none';
  noiseRms: number;
  /** the phone's own noise floor (pink), RMS */
  floorRms: number;
  label: string;
  seed: number;
  /** what the caller says: the clip (a fixture's name or a file's path), if any */
  caller?: string;
  /** what its babble and music are made of */
  beds: Beds;
}

export interface Outcome {
  trial: Trial;
  /** barge_in events: simulated ms, playedMs reported, and the truth (agent audio played since the last clear) */
  clears: { atMs: number; playedMs: number; truthMs: number }[];
  /** barge_in_suspected / barge_in_resumed times, simulated ms (from the trial's turn start: negative in the turn before) */
  ducks: number[];
  resumes: number[];
  /** ms of agent speech the phone played (echo-only minutes are counted from this) */
  agentSpeechMs: number;
  /** agent audio of the trial's turn the phone received, samples, and what it would have had with nothing dropped */
  agentSamplesPlayed: number;
  agentSamplesDue: number;
  erlDb: number;
  erleDb: number;
  delayMs: number;
  /** when the echo canceller first had the echo path, ms from the agent's start (NaN: never) */
  pathFoundMs: number;
  /**
   * The echo's level at the phone's microphone over the level of what the agent got, from 1 s
   * into the trial until the event (or the end), dB: the loss the call's canceller and denoiser
   * gave the echo on the agent's side (NaN without such a stretch).
   */
  echoToAgentDb: number;
  /** the phone's 20 ms frames, the packets the call received (fewer with `dtx` or a loss) and counted lost */
  packets: { frames: number; in: number; lost: number };
}

type Speex = Awaited<ReturnType<typeof loadResamplerModule>>;

/** Something a newer monitor may expose: a promise for the speech detector's pending results. */
interface Settling {
  settled?: () => Promise<void>;
}

const FRAME = 160; // 20 ms at 8 kHz
/** a silence-suppressing phone's voice threshold, dBFS over 20 ms (the trials' phone floor is −60) */
const DTX_DB = -50;

/**
 * When the trial's turn starts (`runTrial`), ms from the call's start on the 20 ms grid: after the
 * agent's turn before it (`priorTurn`, 8 kHz), if any, and the caller's line alone for `agentAfterMs`.
 * A turn queued at 0 goes out on the ticks 20 … 20·P ms (P frames: the first tick is at 20), so the
 * turn before ends at 20·(P + 1).
 */
export function turnStartMs(agentAfterMs: number, priorTurn?: Float32Array): number {
  return 20 * Math.round(agentAfterMs / 20) + (priorTurn === undefined ? 0 : 20 * (Math.ceil(priorTurn.length / FRAME) + 1));
}

/**
 * One trial through a real Call in simulated time: the agent's utterance is queued at the call's
 * start (t = 0) and played on the 20 ms clock; the phone sends back, every 20 ms, the echo of what it actually
 * played (so a clear removes the echo too), the caller's background and the phone's noise floor,
 * and the trial's event at its time. With `agentAfterMs` the phone's line runs alone that long
 * first (the caller had the turn) and everything else comes that much later; the times in the
 * outcome are still from the start of the trial's turn. With `priorTurn` the agent has spoken once
 * before that, from the call's start (the call's canceller, delay search and judge have heard the
 * line): what happened in that turn carries negative times.
 */
export async function runTrial(
  t: Trial,
  deps: {
    pool: DspPool;
    speex: Speex;
    metrics: Metrics;
    rng: () => number;
    vad?: unknown;
    codec?: EdgeCodecName;
    agentAfterMs?: number;
    /**
     * the agent's turn before the trial's, 8 kHz: played from the call's start, then the line alone
     * for `agentAfterMs`; its clears and ducks are the trial's, at negative times (`score` counts
     * false ducks there apart)
     */
    priorTurn?: Float32Array | undefined;
    /**
     * the phone suppresses silence: it sends nothing while its microphone is under DTX_DB, and an
     * RFC 3389 comfort-noise packet as each silence begins; on Opus, its encoder's DTX decides
     */
    dtx?: boolean;
    /** packets the phone sends that never reach the gateway (its sequence numbers still count them) */
    loss?: PacketLoss | undefined;
    /**
     * ms (0–19) before the gateway's 20 ms tick that the phone's packets arrive: a real call's
     * packets keep the phase of its first, which is anyone's (0: on the tick, the set as it was)
     */
    phaseMs?: number;
  },
  bargeIn: Record<string, unknown>,
): Promise<Outcome> {
  let now = 0;
  const prior = deps.priorTurn;
  const after = turnStartMs(deps.agentAfterMs ?? 0, prior);
  /** trial time: from the start of the trial's turn */
  const at = () => now - after;
  const clears: Outcome['clears'] = [];
  const ducks: number[] = [];
  const resumes: number[] = [];
  let agentFramesBefore = 0; // frames of agent audio sent since the last clear in ticks before `now`
  // agent audio the phone has played since the last clear, samples: the truth for a clear's
  // `playedMs`, which counts the turn before too (README: audio the caller heard since the last clear)
  let heardSamples = 0;
  // the stretch the echo reaching the agent is measured over (Outcome.echoToAgentDb), ms
  const echoFromMs = after + 1000;
  const echoToMs = t.event === null ? Infinity : after + t.eventAt * 1000;
  let echoEnergy = 0;
  let agentEnergy = 0;
  let agentCount = 0;
  let echoCount = 0;
  const agent: Agent = {
    start: () => {},
    audio: (frame: Int16Array) => {
      if (now <= echoFromMs || now > echoToMs) return;
      for (const v of frame) agentEnergy += v * v;
      agentCount += frame.length;
    },
    event: (ev: GatewayEvent) => {
      const type = (ev as { type: string }).type;
      if (ev.type === 'barge_in') {
        clears.push({ atMs: at(), playedMs: ev.playedMs, truthMs: agentFramesBefore * 20 });
        if (ev.cleared) heardSamples = 0;
      } else if (type === 'barge_in_suspected') ducks.push(at());
      else if (type === 'barge_in_resumed') resumes.push(at());
    },
    close: () => {},
  };
  const agentLen = t.agentPcm.length;
  const seconds =
    after / 1000 + (t.event === null ? agentLen / RATE + 0.5 : Math.min(agentLen / RATE + 0.5, t.eventAt + t.event.length / RATE + 1.5));
  const frames = Math.ceil((seconds * RATE) / FRAME);
  const played = new Float32Array((frames + 2) * FRAME);
  const decoded = new Int16Array(FRAME);
  let agentSpeechMs = 0;
  let agentSamplesPlayed = 0;
  const codec = CODEC_INFO[deps.codec ?? 'PCMU'];
  // An Opus phone suppresses silence by its encoder's DTX (RFC 7587 §3.1.3), any other by level
  const opusDtx = deps.dtx === true && codec.name === 'opus';
  const line = new PhoneLine(codec.name, deps.speex, opusDtx);
  const edge: Edge = {
    kind: 'sim',
    playback: 'clocked',
    leadMs: 0,
    attach: () => {},
    send: (f) => {
      if (f.kind !== 'audio') return true;
      line.hear(f.payload, decoded);
      const k = now / 20; // the frame sent at time 20k ms is played over [20k, 20k + 20) ms
      played.set(decoded, k * FRAME);
      if (!f.idle) heardSamples += FRAME;
      if (!f.idle && now >= after) agentSamplesPlayed += FRAME;
      let e = 0;
      for (const v of decoded) e += v * v;
      if (e / FRAME > 100) agentSpeechMs += 20;
      return true;
    },
    mark: () => {},
    clear: () => {},
    close: () => {},
  };
  const call = new Call(
    {
      metrics: deps.metrics,
      dspPool: deps.pool,
      speex: deps.speex,
      resampleQuality: 3,
      playoutMaxSeconds: 60,
      now: () => now,
      vad: deps.vad,
    } as ConstructorParameters<typeof Call>[0],
    {
      id: 'eval',
      from: '',
      to: '',
      route: parseRoute({ agent: { url: 'builtin:echo' }, sampleRate: 8000, bargeIn }),
      codec: codec.name,
      payloadType: codec.payloadType,
      dtmfPayloadType: 101,
    },
    edge,
  );
  call.attachAgent(agent);
  const agentPcm = new Uint8Array(Int16Array.from(t.agentPcm).buffer);
  if (prior !== undefined) call.audio(new Uint8Array(Int16Array.from(prior).buffer));
  if (after === 0) call.audio(agentPcm);
  const nz = t.noise === 'none' ? null : noise(t.noise, seconds + 1, deps.rng, t.beds);
  const floor = noise('pink', seconds + 1, deps.rng);
  const mic = new Float32Array(FRAME);
  const codes = new Uint8Array(codec.maxPayload);
  const rx = createRtpPacket();
  rx.ssrc = 1;
  rx.payloadType = codec.payloadType;
  const h = t.h;
  const d = Math.round((t.path.delayMs * RATE) / 1000);
  const ev0 = Math.round(t.eventAt * RATE) + (after * RATE) / 1000;
  const settling = call.monitor as unknown as Settling;
  const settle = typeof settling.settled === 'function' ? settling.settled.bind(call.monitor) : null;
  const phase = deps.phaseMs ?? 0;
  let sent = 0;
  let talking = false;
  let pathFoundMs = NaN;
  const cn = createRtpPacket();
  cn.ssrc = 1;
  cn.payloadType = COMFORT_NOISE_PAYLOAD_TYPE;
  cn.payload = new Uint8Array(1);
  for (let k = 0; k < frames; k++) {
    now = 20 * (k + 1);
    agentFramesBefore = heardSamples / FRAME;
    if (after > 0 && now === after) call.audio(agentPcm);
    call.tick(now, 1);
    for (let i = 0; i < FRAME; i++) {
      const n = k * FRAME + i;
      let v = 0;
      const top = Math.min(h.length, n - d + 1);
      for (let j = 0; j < top; j++) v += h[j]! * played[n - d - j]!;
      if (n >= (echoFromMs * RATE) / 1000 && n < (echoToMs * RATE) / 1000) {
        echoEnergy += v * v;
        echoCount++;
      }
      if (nz) v += nz[n]! * (t.noiseRms / 1000);
      v += floor[n]! * (t.floorRms / 1000);
      if (t.event && n >= ev0 && n - ev0 < t.event.length) v += t.event[n - ev0]!;
      mic[i] = v;
    }
    rx.payload = codes.subarray(0, line.speak(mic, codes));
    // libopus in DTX gives 1–2 bytes for a frame not to be sent (one in 21 is a frame)
    const talk = !deps.dtx || (opusDtx ? rx.payload.length > 2 : rmsDbfs(mic) >= DTX_DB);
    if (talk) {
      // RFC 3551 §4.1: the marker starts a talkspurt; sequence numbers count packets sent
      rx.marker = k === 0 || !talking;
      rx.sequenceNumber = sent++ & 0xffff;
      rx.timestamp = (k * codec.frameTicks) >>> 0;
      if (deps.loss?.lost() !== true) call.inbound.media(rx, now - phase);
    }
    if (!talk && talking && !opusDtx) {
      // a silence begins: one RFC 3389 comfort-noise packet, as phones send, stating the level of
      // the microphone's frame it suppressed (−dBov, §3)
      cn.payload[0] = Math.min(127, Math.max(0, Math.round(-rmsDbfs(mic))));
      cn.sequenceNumber = sent++ & 0xffff;
      cn.timestamp = (k * codec.frameTicks) >>> 0;
      if (deps.loss?.lost() !== true) call.inbound.media(cn, now - phase);
    }
    talking = talk;
    if (Number.isNaN(pathFoundMs) && !Number.isNaN(call.inbound.echoPath.delayMs)) pathFoundMs = at();
    if (settle) await settle();
  }
  const { packetsIn, lost } = call.inbound.stats;
  const { erlDb, erleDb, delayMs } = call.inbound.echoPath;
  call.close('api_delete');
  line.close();
  // one frame a tick from the first: all of the utterance, or as much as the trial lasted
  const agentSamplesDue = Math.min(Math.ceil(agentLen / FRAME), frames - after / 20) * FRAME;
  const echoToAgentDb = 10 * Math.log10(echoEnergy / echoCount / (agentEnergy / agentCount));
  return {
    trial: t,
    clears,
    ducks,
    resumes,
    agentSpeechMs,
    agentSamplesPlayed,
    agentSamplesDue,
    erlDb,
    erleDb,
    delayMs,
    pathFoundMs,
    echoToAgentDb,
    packets: { frames, in: packetsIn, lost },
  };
}
