import { BulkDelay } from '../../codecs/src/index.js';

const RATE = 8000;
const MS = RATE / 1000;

/**
 * An echo delay search at 8 kHz as the canceller sets it up (EchoCanceller's constructor): over
 * 0..`maxDelayMs`, a delay within 10 ms before to 32 ms after its own taken as the same path (the
 * canceller's 12 ms lead less half a 4 ms block; half its 64 ms span).
 */
export function cancellerSearch(maxDelayMs: number): BulkDelay {
  const bd = new BulkDelay({ rate: RATE, maxDelay: maxDelayMs * MS });
  bd.slackBefore = 10 * MS;
  bd.slackAfter = 32 * MS;
  return bd;
}
