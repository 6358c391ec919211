import { GatewayError } from './errors.js';

/**
 * Normalises a telephone number to E.164 (ITU-T E.164 §6: '+', country code, at most 15 digits,
 * no leading zero). Accepts what edges send: 'tel:'/'sip:' URIs, '00' international prefix,
 * visual separators (spaces, dashes, dots, parentheses), and bare digits of an international
 * number. Refuses anything else with INVALID_NUMBER.
 */
export function toE164(input: string): string {
  let s = input.trim();
  const uri = /^(?:tel|sips?):([^@;]+)/i.exec(s);
  if (uri) s = uri[1]!;
  s = s.replace(/[\s\-.()]/g, '');
  if (s.startsWith('00')) s = '+' + s.slice(2);
  if (!s.startsWith('+')) s = '+' + s;
  if (!/^\+[1-9]\d{6,14}$/.test(s)) {
    throw new GatewayError('INVALID_NUMBER', `not an E.164 number: ${JSON.stringify(input)} (expected + and 7–15 digits, no leading 0)`);
  }
  return s;
}
