import { describe, expect, it } from 'vitest';
import { bytesInbox, MESSAGES_PER_TURN, SocketInbox } from '../../gateway/src/SocketInbox.js';

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** An inbox of numbered messages that records, per event-loop turn, what it handled. */
function numbered(o: { rate?: number; burst?: number; cutoffAfter?: number } = {}) {
  const handled: number[][] = [[]];
  const ev = { flooded: 0, cutoff: 0, kept: 0, paused: 0, resumed: 0 };
  let current = 0;
  const inbox = new SocketInbox<{ n: number }>({
    rate: o.rate ?? 1e6,
    burst: o.burst ?? 1e6,
    ...(o.cutoffAfter !== undefined ? { cutoffAfter: o.cutoffAfter } : {}),
    handle: (m) => handled[current]!.push(m.n),
    keep: (m) => {
      ev.kept++;
      return { n: m.n };
    },
    size: () => 10,
    flooded: (n) => (ev.flooded += n),
    cutoff: () => ev.cutoff++,
    pause: () => ev.paused++,
    resume: () => ev.resumed++,
  });
  const nextTurn = async (): Promise<void> => {
    await turn();
    handled[++current] = [];
  };
  return { inbox, handled, ev, nextTurn };
}

describe('SocketInbox (what one socket may cost the shared event loop)', () => {
  it('handles a burst a batch per event-loop turn, in order, copying only what has to wait', async () => {
    const { inbox, handled, ev, nextTurn } = numbered();
    for (let n = 0; n < 100; n++) inbox.push({ n }, false, 0);
    // the first batch at once (borrowed, no copy); the rest waits, copied, and the socket is paused
    expect(handled[0]).toEqual(Array.from({ length: MESSAGES_PER_TURN }, (_, i) => i));
    expect(ev.kept).toBe(100 - MESSAGES_PER_TURN);
    expect(ev.paused).toBe(1);
    while (handled.flat().length < 100) await nextTurn();
    expect(handled.flat()).toEqual(Array.from({ length: 100 }, (_, i) => i));
    // per loop iteration: a batch as the read arrives, and one from the queue in the check phase
    expect(Math.max(...handled.map((h) => h.length))).toBeLessThanOrEqual(2 * MESSAGES_PER_TURN);
    expect(handled.filter((h) => h.length > 0).length).toBeGreaterThanOrEqual(Math.ceil(100 / (2 * MESSAGES_PER_TURN)));
    expect(ev.resumed).toBe(1);
  });

  it('drops what is over the budget unread, reports it once per turn, and cuts the socket off far over', async () => {
    const { inbox, handled, ev } = numbered({ rate: 10, burst: 5, cutoffAfter: 20 });
    for (let n = 0; n < 10; n++) inbox.push({ n }, false, 0);
    expect(handled.flat()).toEqual([0, 1, 2, 3, 4]);
    expect(ev.flooded).toBe(0); // told in a batch, after this turn
    await turn();
    expect(ev.flooded).toBe(5);
    expect(inbox.overBudget).toBe(5);
    // 100 ms later one more token; then 15 more over the budget reach the cut-off
    for (let n = 10; n < 40; n++) inbox.push({ n }, false, 100);
    expect(handled.flat()).toEqual([0, 1, 2, 3, 4, 10]);
    expect(ev.cutoff).toBe(1);
    expect(ev.flooded).toBe(20);
    inbox.push({ n: 99 }, false, 10_000); // closed: nothing more is handled
    expect(handled.flat()).not.toContain(99);
  });

  it("runs a socket's close after what it sent before, and drops what waits when closed", async () => {
    const { inbox, handled, nextTurn } = numbered();
    for (let n = 0; n < 40; n++) inbox.push({ n }, false, 0);
    let closedAfter = -1;
    inbox.end(() => (closedAfter = handled.flat().length));
    expect(closedAfter).toBe(-1);
    await nextTurn();
    expect(closedAfter).toBe(40);
    // close() drops what waits
    const b = numbered();
    for (let n = 0; n < 40; n++) b.inbox.push({ n }, false, 0);
    b.inbox.close();
    await b.nextTurn();
    expect(b.handled.flat().length).toBe(MESSAGES_PER_TURN);
  });

  it('a new turn starts a new batch: a steady stream (RTP over WebSocket) is handled as it comes', async () => {
    const { inbox, handled, ev, nextTurn } = numbered();
    for (let k = 0; k < 5; k++) {
      for (let n = 0; n < 10; n++) inbox.push({ n: 10 * k + n }, false, 0);
      await nextTurn();
    }
    expect(handled.map((h) => h.length).slice(0, 5)).toEqual([10, 10, 10, 10, 10]);
    expect(ev.kept).toBe(0);
  });

  it('bytesInbox copies a borrowed buffer that has to wait (uWS reuses it after the callback)', async () => {
    const got: number[] = [];
    const inbox = bytesInbox({ rate: 1e6, burst: 1e6, handle: (m) => got.push(m[0]!), flooded: () => {}, cutoff: () => {} });
    const borrowed = new Uint8Array(1);
    for (let n = 0; n < MESSAGES_PER_TURN + 5; n++) {
      borrowed[0] = n;
      inbox.push(borrowed, true, 0);
    }
    borrowed[0] = 255;
    await turn();
    expect(got).toEqual(Array.from({ length: MESSAGES_PER_TURN + 5 }, (_, i) => i));
  });
});
