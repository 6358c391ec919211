/** DTMF carried in SIP INFO requests, the legacy alternative to RFC 4733 telephone-events. */

/** RFC 4730-style legacy DTMF: `Signal=5\r\nDuration=160` (application/dtmf-relay). */
export function parseDtmfRelay(body: string): { digit: string; durationMs: number } | null {
  const signal = /^\s*signal\s*=\s*(\S+)\s*$/im.exec(body)?.[1];
  if (signal === undefined) return null;
  const digit = signal === '10' ? '*' : signal === '11' ? '#' : signal.toUpperCase();
  if (!/^[0-9*#A-D]$/.test(digit)) return null;
  const duration = Number(/^\s*duration\s*=\s*(\d{1,6})\s*$/im.exec(body)?.[1] ?? 250);
  return { digit, durationMs: duration };
}
