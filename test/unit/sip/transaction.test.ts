import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createRequest, createResponse, cseqOf, SipHeaders, topVia } from '../../../gateway/src/sip/message.js';
import type { SipMessage, SipRequest, SipResponse } from '../../../gateway/src/sip/message.js';
import { TransactionLayer } from '../../../gateway/src/sip/transaction.js';
import type { ServerTransaction } from '../../../gateway/src/sip/transaction.js';
import type { Remote } from '../../../gateway/src/sip/transport.js';

// Small timers so 64·T1 = 640 ms of fake time.
const TIMERS = { t1: 10, t2: 40, t4: 50 };
const PEER: Remote = { protocol: 'udp', address: '192.0.2.1', port: 5060 };

function req(method: string, branch = 'z9hG4bKabc', seq = 1): SipRequest {
  const h = new SipHeaders();
  h.set('via', `SIP/2.0/UDP 192.0.2.1:5060;branch=${branch}`);
  h.set('from', '<sip:a@x>;tag=f').set('to', '<sip:b@y>').set('call-id', 'c1').set('cseq', `${seq} ${method}`).set('max-forwards', '70');
  return createRequest(method, 'sip:b@y', h);
}

function harness() {
  const sent: SipMessage[] = [];
  const events: string[] = [];
  let serverTx: ServerTransaction | undefined;
  const layer = new TransactionLayer(
    {
      send: (m) => sent.push(m),
      respond: (m) => sent.push(m),
    },
    {
      onRequest: (_r, tx) => {
        serverTx = tx;
        events.push('request');
      },
      onAck: () => events.push('ack'),
      onStrayResponse: (r) => events.push(`stray ${r.status}`),
    },
    TIMERS,
  );
  return { layer, sent, events, tx: () => serverTx! };
}

const statuses = (sent: SipMessage[]): (number | string)[] => sent.map((m) => (m.type === 'response' ? m.status : m.method));

describe('transactions (RFC 3261 §17) with T1 = 10 ms', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('INVITE server: 100 at once, Timer G retransmits the 486 (capped at T2) until ACK, then Timer I', () => {
    const h = harness();
    h.layer.receive(req('INVITE'), PEER);
    expect(statuses(h.sent)).toEqual([100]);
    h.layer.receive(req('INVITE'), PEER); // retransmission: the 100 again, no new request
    expect(statuses(h.sent)).toEqual([100, 100]);
    expect(h.events).toEqual(['request']);
    h.tx().reply(486, { toTag: 't' });
    vi.advanceTimersByTime(10 + 20 + 40 + 40); // G at 10, 30, 70, 110
    expect(statuses(h.sent).filter((s) => s === 486)).toHaveLength(5);
    h.layer.receive(req('ACK'), PEER);
    vi.advanceTimersByTime(200);
    expect(statuses(h.sent).filter((s) => s === 486)).toHaveLength(5);
    expect(h.tx().state).toBe('terminated');
    expect(h.layer.size).toBe(0);
    expect(h.events).toEqual(['request']); // the ACK belonged to the transaction
  });

  it('INVITE server: Timer H gives up after 64·T1 without ACK', () => {
    const h = harness();
    h.layer.receive(req('INVITE'), PEER);
    h.tx().reply(503, { headers: { 'retry-after': '5' } });
    vi.advanceTimersByTime(639);
    expect(h.layer.size).toBe(1);
    const count = statuses(h.sent).filter((s) => s === 503).length;
    expect(count).toBe(1 + 2 + Math.floor((630 - 70) / 40) + 1); // 10, 30, 70, 110 … 630
    vi.advanceTimersByTime(1);
    expect(h.layer.size).toBe(0);
  });

  it('INVITE server: after a 2xx, retransmitted INVITEs are absorbed (RFC 6026) and the 2xx ACK goes to the core', () => {
    const h = harness();
    h.layer.receive(req('INVITE'), PEER);
    h.tx().reply(200, { toTag: 't' });
    h.layer.receive(req('INVITE'), PEER);
    expect(statuses(h.sent)).toEqual([100, 200]);
    h.layer.receive(req('ACK', 'z9hG4bKother'), PEER);
    expect(h.events).toEqual(['request', 'ack']);
    vi.advanceTimersByTime(640);
    expect(h.layer.size).toBe(0);
  });

  it('non-INVITE server: absorbs retransmissions with the last response, then Timer J', () => {
    const h = harness();
    h.layer.receive(req('OPTIONS'), PEER);
    expect(h.tx().reply(200)).not.toBeNull();
    expect(h.tx().reply(500)).toBeNull();
    h.layer.receive(req('OPTIONS'), PEER);
    expect(statuses(h.sent)).toEqual([200, 200]);
    vi.advanceTimersByTime(640);
    expect(h.layer.size).toBe(0);
  });

  it('INVITE client: Timer A doubles until Timer B, then times out', () => {
    const h = harness();
    const cb = { onResponse: vi.fn(), onTimeout: vi.fn() };
    h.layer.request(req('INVITE'), PEER, cb);
    vi.advanceTimersByTime(639);
    expect(statuses(h.sent)).toEqual(Array(7).fill('INVITE')); // 0, 10, 30, 70, 150, 310, 630
    expect(cb.onTimeout).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(cb.onTimeout).toHaveBeenCalledOnce();
    expect(h.layer.size).toBe(0);
  });

  it('INVITE client: provisional stops Timer A; a 486 is ACKed on the same branch, again when retransmitted; Timer D', () => {
    const h = harness();
    const got: number[] = [];
    const invite = req('INVITE');
    h.layer.request(invite, PEER, { onResponse: (r) => got.push(r.status), onTimeout: () => got.push(-1) });
    const ringing = createResponse(invite, 180, undefined, 'tt');
    h.layer.receive(ringing, PEER);
    vi.advanceTimersByTime(100);
    expect(statuses(h.sent)).toEqual(['INVITE']);
    const busy: SipResponse = createResponse(invite, 486, undefined, 'tt');
    h.layer.receive(busy, PEER);
    h.layer.receive(busy, PEER);
    const acks = h.sent.filter((m): m is SipRequest => m.type === 'request' && m.method === 'ACK');
    expect(acks).toHaveLength(2);
    expect(topVia(acks[0]!).params.get('branch')).toBe('z9hG4bKabc');
    expect(cseqOf(acks[0]!)).toEqual({ seq: 1, method: 'ACK' });
    expect(acks[0]!.headers.get('to')).toContain('tag=tt');
    expect(got).toEqual([180, 486]);
    vi.advanceTimersByTime(640);
    expect(h.layer.size).toBe(0);
  });

  it('INVITE client: a 2xx ends the transaction; its retransmission reaches the core as stray', () => {
    const h = harness();
    const invite = req('INVITE');
    h.layer.request(invite, PEER, { onResponse: () => undefined, onTimeout: () => undefined });
    const ok = createResponse(invite, 200, undefined, 'tt');
    h.layer.receive(ok, PEER);
    expect(h.layer.size).toBe(0);
    h.layer.receive(ok, PEER);
    expect(h.events).toEqual(['stray 200']);
  });

  it('non-INVITE client: Timer E capped at T2 (T2 once proceeding), Timer F; no retransmissions on TCP', () => {
    const h = harness();
    const cb = { onResponse: vi.fn(), onTimeout: vi.fn() };
    h.layer.request(req('BYE'), PEER, cb);
    vi.advanceTimersByTime(640);
    // 0, 10, 30, 70, 110, … 630 (E doubles to T2 = 40 and stays there).
    expect(h.sent).toHaveLength(1 + 2 + Math.floor((630 - 70) / 40) + 1);
    expect(cb.onTimeout).toHaveBeenCalledOnce();

    const t = harness();
    const tcb = { onResponse: vi.fn(), onTimeout: vi.fn() };
    const bye = req('BYE', 'z9hG4bKtcp');
    t.layer.request(bye, { ...PEER, protocol: 'tcp' }, tcb);
    vi.advanceTimersByTime(300);
    expect(t.sent).toHaveLength(1);
    t.layer.receive(createResponse(bye, 200), PEER);
    expect(tcb.onResponse).toHaveBeenCalledOnce();
    vi.advanceTimersByTime(1);
    expect(t.layer.size).toBe(0); // Timer K = 0 on reliable transports
  });

  it('close() stops every timer', () => {
    const h = harness();
    h.layer.request(req('INVITE'), PEER, { onResponse: () => undefined, onTimeout: () => undefined });
    h.layer.receive(req('OPTIONS', 'z9hG4bKx'), PEER);
    h.layer.close();
    expect(vi.getTimerCount()).toBe(0);
  });
});
