import { XML_DECL, xmlAttr } from './wire.js';

/** Twilio's voice webhook answer: TwiML that connects the call to a bidirectional Media Stream. */

/**
 * The voice webhook's answer: a bidirectional stream to `url`, blocking the TwiML until the
 * customer closes the socket. Parameters arrive in `start.customParameters`.
 * https://www.twilio.com/docs/voice/twiml/stream
 */
export function buildTwimlConnectStream(url: string, parameters: Readonly<Record<string, string>> = {}): string {
  const params = Object.entries(parameters)
    .map(([name, value]) => `<Parameter name="${xmlAttr(name)}" value="${xmlAttr(value)}"/>`)
    .join('');
  const stream = params === '' ? `<Stream url="${xmlAttr(url)}"/>` : `<Stream url="${xmlAttr(url)}">${params}</Stream>`;
  return `${XML_DECL}<Response><Connect>${stream}</Connect></Response>`;
}
