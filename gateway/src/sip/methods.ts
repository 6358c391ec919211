/** The SIP methods this user agent implements and the ones it knows, for Allow and for 405 vs 501. */

/** Methods we implement (the Allow header, RFC 3261 §20.5). */
export const ALLOWED = ['INVITE', 'ACK', 'CANCEL', 'BYE', 'OPTIONS', 'INFO', 'UPDATE', 'REFER', 'NOTIFY'];
/** Methods we know but do not take (405 rather than 501, RFC 3261 §8.2.1). */
export const KNOWN = new Set([...ALLOWED, 'REGISTER', 'SUBSCRIBE', 'PRACK', 'MESSAGE', 'PUBLISH']);
