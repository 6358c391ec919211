import { performance } from 'node:perf_hooks';
import { Resampler } from '../../../codecs/src/index.js';
import { parseRoute } from '../../../gateway/src/route.js';
import { OpenAiRealtimeStandIn, type OpenAiRealtimeSession } from '../../../testkit/services/OpenAiRealtimeStandIn.js';
import { GeminiLiveStandIn, type GeminiLiveSession } from '../../../testkit/services/GeminiLiveStandIn.js';
import { ElevenLabsStandIn, type ElevenLabsSession } from '../../../testkit/services/ElevenLabsStandIn.js';
import { DeepgramStandIn, type DeepgramSession } from '../../../testkit/services/DeepgramStandIn.js';
import { UltravoxStandIn, type UltravoxSession } from '../../../testkit/services/UltravoxStandIn.js';
import type { StandIn, StandInSession } from '../../../testkit/services/StandIn.js';
import { TestAgent, type AgentSession } from '../../../testkit/TestAgent.js';

/**
 * The agent side of the latency bench, per dialect: the native test agent, or an AI service
 * dialled directly (`--agent-dialect openai-realtime`…) through its stand-in (testkit/services),
 * so one run shows what a service dialect adds beside native. Each call's session offers what the
 * bench does with an agent: the caller frames it got (with arrival times), a reply streamed in
 * 20 ms chunks at 1× (the times each went out), a burst, and a clear (the service's own
 * interruption signal).
 */
export interface BenchSession {
  readonly frames: readonly { pcm: Int16Array; atMs: number }[];
  /** Hz of the caller frames */
  readonly rate: number;
  audio(): Int16Array;
  /** Streams `pcm24k` in 20 ms chunks paced in real time; `onChunk` gets each one's send time. */
  stream(pcm24k: Int16Array, onChunk: (k: number, t: number) => void): Promise<void>;
  /** Sends `pcm24k` at once (as fast as the protocol allows). */
  burst(pcm24k: Int16Array): void;
  /** Stops the agent's audio (its dialect's clear); returns when it was sent. */
  clear(): number;
}

export interface BenchAgent {
  readonly dialect: string;
  /** The route of call `i` (its URL tells the stand-in which call connected). */
  route(i: number): unknown;
  session(i: number, callId: string): Promise<BenchSession>;
  /** Forget the sessions of the last level. */
  reset(): void;
  close(): Promise<void>;
}

const SERVICES = {
  'openai-realtime': async () => ({ s: await OpenAiRealtimeStandIn.listen(), path: '/v1/realtime?model=gpt-realtime' }),
  'gemini-live': async () => ({ s: await GeminiLiveStandIn.listen(), path: '/ws/BidiGenerateContent?v=1', session: { model: 'models/m' } }),
  elevenlabs: async () => ({ s: await ElevenLabsStandIn.listen(), path: '/v1/convai/conversation?agent_id=bench' }),
  deepgram: async () => ({ s: await DeepgramStandIn.listen(), path: '/v1/agent/converse?v=1' }),
  ultravox: async () => ({ s: await UltravoxStandIn.listen(), path: '' }),
} as const;

type AnyStandIn = StandIn<OpenAiRealtimeSession | GeminiLiveSession | ElevenLabsSession | DeepgramSession | UltravoxSession>;

export async function benchAgent(dialect: string): Promise<BenchAgent> {
  if (dialect === 'native') return nativeAgent(await TestAgent.listen());
  const make = (SERVICES as Record<string, (() => Promise<{ s: AnyStandIn; path: string; session?: object }>) | undefined>)[dialect];
  if (make === undefined) throw new Error(`--agent-dialect: ${dialect} is not native or one of ${Object.keys(SERVICES).join(', ')}`);
  const { s, path, session } = await make();
  // The route as a user would write it, with the service's defaults (rates, format, denoise).
  const base = parseRoute({ agent: { dialect, url: 'ws://x', ...(session ? { session } : {}) } });
  const toService = await Resampler.create({ inRate: 24000, outRate: base.outputRate ?? base.sampleRate, quality: 3 });
  // a unique token per call in its URL: the stand-in tells its sessions apart by it
  const tag = (i: number) => `bench=b${i}e`;
  return {
    dialect,
    route: (i) => {
      const url =
        dialect === 'ultravox' ? `http://127.0.0.1:${s.port}/api/calls` : s.url(`${path}${path.includes('?') ? '&' : '?'}${tag(i)}`);
      // The bench's caller talks throughout (its committed speech), over the reply: the gateway's
      // barge-in would cut the reply it measures. Off here; a service's own interruption is the
      // bench's clear.
      return { agent: { dialect, url, headers: { 'x-api-key': 'bench' }, ...(session ? { session } : {}) }, bargeIn: { enabled: false } };
    },
    session: async (i) => serviceSession(dialect === 'ultravox' ? await s.session(i) : await s.session(tag(i)), toService),
    reset: () => {
      s.sessions.length = 0;
    },
    close: async () => {
      toService.close();
      await s.close();
    },
  };
}

function nativeAgent(agent: TestAgent): BenchAgent {
  const wrap = (s: AgentSession): BenchSession => ({
    frames: s.frames,
    rate: 24000,
    audio: () => s.audio(),
    stream: (pcm, onChunk) => s.streamAudio(pcm, 24000, onChunk),
    burst: (pcm) => s.sendAudio(pcm),
    clear: () => s.send({ type: 'clear' }),
  });
  return {
    dialect: 'native',
    route: () => ({ agent: { url: agent.url } }),
    session: async (_i, callId) => wrap(await agent.session(callId)),
    reset: () => {
      agent.sessions.length = 0;
    },
    close: () => agent.close(),
  };
}

function serviceSession(s: StandInSession, toService: Resampler): BenchSession {
  const convert = (pcm24k: Int16Array): Int16Array => {
    if (s.outRate === 24000) return pcm24k;
    const out = new Float32Array(toService.maxOutput(pcm24k.length));
    const n = toService.process(Float32Array.from(pcm24k), out);
    toService.reset();
    return Int16Array.from(out.subarray(0, n), (v) => Math.max(-32768, Math.min(32767, Math.round(v))));
  };
  return {
    frames: s.frames,
    get rate() {
      return s.inRate;
    },
    audio: () => s.audio(),
    stream: async (pcm, onChunk) => {
      await s.speak(convert(pcm), { chunkMs: 20, speed: 1, onChunk });
    },
    burst: (pcm) => {
      void s.speak(convert(pcm), { chunkMs: 1000, speed: 1000 });
    },
    clear: () => {
      s.interrupt();
      return performance.now();
    },
  };
}
