import { createHmac } from 'node:crypto';
import { safeEqual, splitUrl } from './wire.js';

/** X-Plivo-Signature-V3, the HMAC Plivo puts on every webhook request. */

/**
 * base64(HMAC-SHA256(authToken, signed + "." + nonce)) where, for a POST, signed is
 * `scheme://host/path` + ("?" + the URL's query pairs as sorted "k=v" joined by "&" + "." when
 * the query is not empty; "?" alone when it is) + the POST parameters sorted by name, each
 * name+value; for a GET, `scheme://host/path` + ("?" + sorted query, when there is one).
 * Query and parameter values are compared decoded; repeated names are sorted by value.
 * Plivo documents the headers and points to its SDKs for the recipe
 * (https://docs.plivo.com/docs/voice/xml/request/validation); this follows plivo-python
 * `utils/signature_v3.py`.
 */
export function plivoSignatureV3(
  authToken: string,
  method: 'GET' | 'POST',
  url: string,
  nonce: string,
  params: URLSearchParams = new URLSearchParams(),
): string | null {
  const u = splitUrl(url);
  if (u === null) return null;
  let base = `${u.scheme}://${u.userinfo}${u.host}${u.port === '' ? '' : `:${u.port}`}${u.path}`;
  const query = sortedPairs(new URLSearchParams(u.query))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const post = method === 'POST' ? sortedPairs(params) : [];
  if (query !== '' || post.length > 0) base += `?${query}`;
  if (query !== '' && post.length > 0) base += '.';
  for (const [k, v] of post) base += k + v;
  return createHmac('sha256', authToken).update(`${base}.${nonce}`, 'utf8').digest('base64');
}

/**
 * Checks `X-Plivo-Signature-V3` (one or more comma-separated signatures, e.g. after a token
 * rotation) against the request. `url` is the URL Plivo called, as configured.
 */
export function verifyPlivoSignatureV3(
  authToken: string,
  signatureHeader: string | undefined,
  nonce: string | undefined,
  method: 'GET' | 'POST',
  url: string,
  params?: URLSearchParams,
): boolean {
  if (signatureHeader === undefined || nonce === undefined || nonce === '' || authToken === '') return false;
  const expected = plivoSignatureV3(authToken, method, url, nonce, params);
  if (expected === null) return false;
  let ok = false;
  for (const sig of signatureHeader.split(',')) ok = safeEqual(sig.trim(), expected) || ok;
  return ok;
}

function sortedPairs(p: URLSearchParams): [string, string][] {
  return [...p.entries()].sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0));
}
