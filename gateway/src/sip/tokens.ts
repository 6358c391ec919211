import { randomBytes } from 'node:crypto';

/** Random hex for tags, branches and Call-IDs (RFC 3261 §19.3: globally unique, unguessable). */
export const rand = (bytes = 8): string => randomBytes(bytes).toString('hex');
