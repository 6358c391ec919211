import type { Dialect, Route } from '../../route.js';
import type { DialectFactory } from './Dialect.js';
import { ExotelDialect } from './exotel.js';
import { JambonzDialect } from './jambonz.js';
import { NativeDialect } from './native.js';
import { PlivoDialect } from './plivo.js';
import { TelnyxDialect } from './telnyx.js';
import { TwilioDialect } from './twilio.js';
import { VonageDialect } from './vonage.js';
import { DeepgramDialect } from '../services/deepgram.js';
import { ElevenLabsDialect } from '../services/elevenlabs.js';
import { GeminiLiveDialect } from '../services/geminiLive.js';
import { OpenAiRealtimeDialect } from '../services/openaiRealtime.js';
import { UltravoxDialect } from '../services/ultravox.js';

/** Every dialect the gateway speaks to agents, by the name a route uses. */
export const DIALECT_FACTORIES: Record<Dialect, DialectFactory> = {
  native: () => new NativeDialect(),
  twilio: () => new TwilioDialect(),
  telnyx: () => new TelnyxDialect(),
  plivo: (r: Route) => new PlivoDialect(r, false),
  vobiz: (r: Route) => new PlivoDialect(r, true),
  exotel: (r: Route) => new ExotelDialect(r),
  vonage: (r: Route) => new VonageDialect(r),
  jambonz: (r: Route) => new JambonzDialect(r),
  // AI services, the gateway as their client (agent/services/)
  'openai-realtime': (r, ctx) => new OpenAiRealtimeDialect(r, ctx),
  'gemini-live': (r, ctx) => new GeminiLiveDialect(r, ctx),
  elevenlabs: (r, ctx) => new ElevenLabsDialect(r, ctx),
  deepgram: (r, ctx) => new DeepgramDialect(r, ctx),
  ultravox: (r, ctx) => new UltravoxDialect(r, ctx),
};
