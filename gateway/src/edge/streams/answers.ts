import { buildExotelStreamUrlAnswer } from '../../platforms/exotel.js';
import { buildPlivoStreamXml, verifyPlivoSignatureV3 } from '../../platforms/plivo.js';
import { buildTexmlConnectStream, verifyTelnyxSignature } from '../../platforms/telnyx.js';
import { buildTwimlConnectStream, verifyTwilioSignature } from '../../platforms/twilio.js';
import { buildVonageNcco, verifyVonageSignedWebhook } from '../../platforms/vonage.js';
import type { PlatformSettings } from './platformSettings.js';
import type { CpaasPlatform } from './protocol.js';

/** A voice webhook as it arrived (headers lower-cased, the URL as the platform called it). */
export interface WebhookRequest {
  method: 'GET' | 'POST';
  /** public base + path + (`?` + query when there is one): what signatures cover */
  url: string;
  query: string;
  headers: Readonly<Record<string, string>>;
  body: Buffer;
}

/** The webhook's parameters: the query's, then a form body's (or a JSON body's, Vonage). */
export function webhookParams(w: WebhookRequest): { form: URLSearchParams; all: Map<string, string> } {
  const all = new Map<string, string>(new URLSearchParams(w.query));
  let form = new URLSearchParams();
  const body = w.body.toString('utf8');
  if ((w.headers['content-type'] ?? '').includes('json')) {
    try {
      const j = JSON.parse(body) as unknown;
      if (typeof j === 'object' && j !== null)
        for (const [k, v] of Object.entries(j)) if (typeof v === 'string' || typeof v === 'number') all.set(k, String(v));
    } catch {
      // not JSON after all: no parameters from the body
    }
  } else if (w.method === 'POST') {
    form = new URLSearchParams(body);
    for (const [k, v] of form) all.set(k, v);
  }
  return { form, all };
}

/**
 * Checks the platform's webhook signature with its configured secret. Null: no secret configured
 * (not checked). Exotel has no signature scheme (IP allow-list or basic auth in front of us).
 */
export async function verifyWebhook(
  platform: CpaasPlatform,
  s: PlatformSettings,
  w: WebhookRequest,
  form: URLSearchParams,
): Promise<boolean | null> {
  const h = w.headers;
  switch (platform) {
    case 'twilio':
      return s.twilioAuthToken === null ? null : verifyTwilioSignature(s.twilioAuthToken, h['x-twilio-signature'], w.url, form);
    case 'plivo':
    case 'vobiz': {
      // Vobiz is Plivo's clone: the same V3 scheme (its header names accepted too).
      const token = platform === 'plivo' ? s.plivoAuthToken : s.vobizAuthToken;
      if (token === null) return null;
      const sig = h['x-plivo-signature-v3'] ?? h['x-vobiz-signature-v3'];
      const nonce = h['x-plivo-signature-v3-nonce'] ?? h['x-vobiz-signature-v3-nonce'];
      return verifyPlivoSignatureV3(token, sig, nonce, w.method, w.url, form);
    }
    case 'telnyx':
      return s.telnyxPublicKey === null
        ? null
        : verifyTelnyxSignature(s.telnyxPublicKey, h['telnyx-signature-ed25519'], h['telnyx-timestamp'], w.body);
    case 'vonage':
      return s.vonageSignatureSecret === null
        ? null
        : (await verifyVonageSignedWebhook(h['authorization'], s.vonageSignatureSecret, w.body.length > 0 ? w.body : undefined)).ok;
    case 'exotel':
      return null;
  }
}

/** Caller, called number and the platform's call id, by each platform's parameter names. */
export function callFields(platform: CpaasPlatform, p: ReadonlyMap<string, string>): { from: string; to: string; callId: string } {
  const get = (...names: string[]): string => {
    for (const n of names) {
      const v = p.get(n);
      if (v !== undefined && v !== '') return v;
    }
    return '';
  };
  if (platform === 'vonage') return { from: get('from'), to: get('to'), callId: get('uuid', 'conversation_uuid') };
  if (platform === 'exotel') return { from: get('CallFrom', 'From'), to: get('CallTo', 'To'), callId: get('CallSid') };
  return { from: get('From'), to: get('To'), callId: get('CallSid', 'CallUUID', 'CallControlId') };
}

/** The platform's answer: its document pointing a bidirectional stream at `streamUrl`, carrying `token`. */
export function answerDocument(platform: CpaasPlatform, streamUrl: string, token: string): { contentType: string; body: string } {
  const xml = 'application/xml';
  switch (platform) {
    case 'twilio':
      // Twilio's Stream url takes no query string: the token travels as a <Parameter>.
      return { contentType: xml, body: buildTwimlConnectStream(streamUrl, { gw: token }) };
    case 'plivo':
    case 'vobiz':
      return { contentType: xml, body: buildPlivoStreamXml(streamUrl, 'audio/x-mulaw;rate=8000', { gw: token }) };
    case 'telnyx':
      return { contentType: xml, body: buildTexmlConnectStream(`${streamUrl}?gw=${token}`, 'PCMU') };
    case 'exotel':
      // the Voicebot applet's dynamic URL answer; the query parameter reaches start.custom_parameters too
      return { contentType: 'application/json', body: JSON.stringify(buildExotelStreamUrlAnswer(`${streamUrl}?gw=${token}`)) };
    case 'vonage':
      return { contentType: 'application/json', body: JSON.stringify(buildVonageNcco(streamUrl, 16000, { gw: token })) };
  }
}
