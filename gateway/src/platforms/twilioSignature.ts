import { createHmac } from 'node:crypto';
import { safeEqual } from './wire.js';

/** X-Twilio-Signature, the HMAC Twilio puts on every webhook request. */

/** POST parameters as received: URLSearchParams keeps repeated names; a record cannot. */
export type FormParams = URLSearchParams | Readonly<Record<string, string>>;

/**
 * base64(HMAC-SHA1(authToken, url + name1 + value1 + name2 + value2 …)), parameters sorted by
 * name (code-unit order), repeated names by value.
 * https://www.twilio.com/docs/usage/webhooks/webhooks-security
 */
export function twilioSignature(authToken: string, url: string, params: FormParams): string {
  const pairs = params instanceof URLSearchParams ? [...params.entries()] : Object.entries(params);
  pairs.sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0));
  const h = createHmac('sha1', authToken).update(url, 'utf8');
  for (const [name, value] of pairs) h.update(name + value, 'utf8');
  return h.digest('base64');
}

/**
 * Checks `X-Twilio-Signature` for a form POST (or a GET, with empty params). `url` must be the
 * URL exactly as configured at Twilio, query string still encoded. Twilio may have signed it with
 * or without the scheme's default port, and a proxy in front of us may have added or dropped the
 * port, so — as Twilio's own SDKs do — the URL is also tried with the port removed and, when it
 * has none, with the scheme's standard port added.
 */
export function verifyTwilioSignature(authToken: string, signature: string | undefined, url: string, params: FormParams): boolean {
  if (signature === undefined || signature === '' || authToken === '') return false;
  let ok = false;
  // every candidate is computed and compared, so timing does not reveal which one matched
  for (const candidate of twilioUrlCandidates(url)) ok = safeEqual(twilioSignature(authToken, candidate, params), signature) || ok;
  return ok;
}

function twilioUrlCandidates(url: string): string[] {
  const m = /^(https?:\/\/(?:[^/?#@]*@)?(?:\[[^\]]*\]|[^/?#:]*))(?::(\d+))?(.*)$/i.exec(url);
  if (!m) return [url];
  const [, authority, port, rest] = m as unknown as [string, string, string | undefined, string];
  if (port !== undefined) return [url, authority + rest];
  const std = authority.toLowerCase().startsWith('https:') ? '443' : '80';
  return [url, `${authority}:${std}${rest}`];
}
