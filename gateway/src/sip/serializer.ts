import { canonicalName, LIST_HEADERS } from './headers.js';
import type { SipMessage } from './message.js';

/** SIP messages to bytes: start line, header fields in their canonical spelling, body. */

/** Wire form; Content-Length is always written from the body (RFC 3261 §20.14). */
export function serialize(msg: SipMessage): Buffer {
  const lines = [msg.type === 'request' ? `${msg.method} ${msg.uri} SIP/2.0` : `SIP/2.0 ${msg.status} ${msg.reason}`];
  for (const [name, values] of msg.headers.entries()) {
    if (name === 'content-length') continue;
    const canonical = canonicalName(name);
    if (LIST_HEADERS.has(name) && name !== 'via' && name !== 'contact') lines.push(`${canonical}: ${values.join(', ')}`);
    else for (const v of values) lines.push(`${canonical}: ${v}`);
  }
  lines.push(`Content-Length: ${msg.body.length}`, '', '');
  const head = Buffer.from(lines.join('\r\n'), 'utf8');
  return msg.body.length === 0 ? head : Buffer.concat([head, msg.body]);
}
