import { XML_DECL, xmlAttr, xmlText } from './wire.js';

/** Plivo's answer XML: the `<Stream>` element that connects the call to a bidirectional audio stream. */

export type PlivoStreamContentType = 'audio/x-mulaw;rate=8000' | 'audio/x-l16;rate=8000' | 'audio/x-l16;rate=16000';

/**
 * The answer XML: a bidirectional stream that keeps the call up while the socket is open.
 * `extraHeaders` arrive in `start.extra_headers`; Plivo allows only alphanumeric names and
 * values, ≤ 512 bytes in all (RangeError otherwise). https://docs.plivo.com/docs/voice/xml/audiostream
 */
export function buildPlivoStreamXml(
  url: string,
  contentType: PlivoStreamContentType,
  extraHeaders: Readonly<Record<string, string>> = {},
): string {
  const entries = Object.entries(extraHeaders);
  for (const [k, v] of entries) {
    if (!/^[A-Za-z0-9]+$/.test(k) || !/^[A-Za-z0-9]*$/.test(v))
      throw new RangeError(`extraHeaders ${k}: Plivo allows alphanumeric names and values only`);
  }
  const headers = entries.map(([k, v]) => `${k}=${v}`).join(',');
  if (headers.length > 512) throw new RangeError('extraHeaders exceed 512 bytes');
  const extra = headers === '' ? '' : ` extraHeaders="${xmlAttr(headers)}"`;
  return `${XML_DECL}<Response><Stream bidirectional="true" keepCallAlive="true" contentType="${xmlAttr(contentType)}"${extra}>${xmlText(url)}</Stream></Response>`;
}
