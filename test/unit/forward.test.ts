import { describe, expect, it } from 'vitest';
import { FORWARDED_BY, PeerForwarder, type FetchLike, type RequestMeta } from '../../gateway/src/api/forward.js';
import { newCallId } from '../../gateway/src/call/callId.js';
import type { Reply } from '../../gateway/src/http.js';
import { setLogLevel } from '../../gateway/src/log.js';

setLogLevel('silent');

const PEERS = [
  { name: 'gw1', url: 'http://10.0.0.1:8080' },
  { name: 'gw2', url: 'http://10.0.0.2:8080' },
];

function meta(over: Partial<RequestMeta> = {}): RequestMeta {
  return { method: 'GET', path: '/v1/calls/x', authorization: '', query: '', contentType: '', forwardedBy: '', ...over };
}

/** A fetch that records what it was asked and answers with `answer`. */
function recordingFetch(answer: () => Promise<Response>): { fetch: FetchLike; calls: { url: string; init: RequestInit }[] } {
  const calls: { url: string; init: RequestInit }[] = [];
  return {
    calls,
    fetch: (url, init) => {
      calls.push({ url, init });
      return answer();
    },
  };
}

/** A stand-in for a uWS reply that records what is written. */
function fakeReply(): { r: Reply; sent: Promise<{ status: string; headers: Record<string, string>; body: string }> } {
  let done!: (v: { status: string; headers: Record<string, string>; body: string }) => void;
  const sent = new Promise<{ status: string; headers: Record<string, string>; body: string }>((resolve) => (done = resolve));
  let status = '';
  const headers: Record<string, string> = {};
  const res = {
    cork(fn: () => void) {
      fn();
      return res;
    },
    writeStatus(s: string) {
      status = s;
      return res;
    },
    writeHeader(k: string, v: string) {
      headers[k] = v;
      return res;
    },
    end(b: Buffer) {
      done({ status, headers, body: Buffer.from(b).toString() });
      return res;
    },
  };
  return { r: { res: res as unknown as Reply['res'], aborted: false }, sent };
}

describe('forwarding API requests to the instance a call id names', () => {
  it('finds the peer by the id, never itself, never for foreign-shaped ids', () => {
    const f = new PeerForwarder('gw1', PEERS);
    expect(f.peerOf(newCallId('gw2'))).toEqual(PEERS[1]);
    expect(f.peerOf(newCallId('gw1'))).toBeNull(); // ours: local lookup already said no
    expect(f.peerOf(newCallId('gw9'))).toBeNull(); // not a listed instance
    expect(f.peerOf('not-a-uuid')).toBeNull();
  });

  it('sends the request on as it came (method, path, query, Authorization, body) and passes the answer back', async () => {
    const { fetch, calls } = recordingFetch(() =>
      Promise.resolve(new Response('{"callId":"x"}', { status: 200, statusText: 'OK', headers: { 'content-type': 'application/json' } })),
    );
    const f = new PeerForwarder('gw1', PEERS, { fetch });
    const id = newCallId('gw2');
    const { r, sent } = fakeReply();
    const m = meta({ method: 'DELETE', path: `/v1/calls/${id}`, authorization: 'Bearer abc', query: 'token=t' });
    expect(f.relay(r, id, m)).toBe(true);
    expect(await sent).toEqual({ status: '200 OK', headers: { 'content-type': 'application/json' }, body: '{"callId":"x"}' });
    expect(calls[0]!.url).toBe(`http://10.0.0.2:8080/v1/calls/${id}?token=t`);
    expect(calls[0]!.init.method).toBe('DELETE');
    expect(calls[0]!.init.headers).toEqual({ authorization: 'Bearer abc', [FORWARDED_BY]: 'gw1' });

    const form = Buffer.from('Status=completed');
    const post = await f.forward(
      PEERS[1]!,
      meta({ method: 'POST', path: '/2010-04-01/Accounts/AC1/Calls/CA1.json', contentType: 'application/x-www-form-urlencoded' }),
      form,
    );
    expect(post.status).toBe(200);
    expect(calls[1]!.init.headers).toMatchObject({ 'content-type': 'application/x-www-form-urlencoded' });
    expect(Buffer.from(calls[1]!.init.body as Uint8Array).toString()).toBe('Status=completed');
  });

  it("passes the peer's 404 back as it is", async () => {
    const { fetch } = recordingFetch(() =>
      Promise.resolve(new Response('{"error":{"code":"NOT_FOUND"}}', { status: 404, statusText: 'Not Found' })),
    );
    const f = new PeerForwarder('gw1', PEERS, { fetch });
    const a = await f.forward(PEERS[1]!, meta());
    expect([a.status, a.body.toString()]).toEqual([404, '{"error":{"code":"NOT_FOUND"}}']);
  });

  it('answers 502 PEER_UNREACHABLE when the peer refuses the connection or does not answer in time', async () => {
    const refused = new PeerForwarder('gw1', PEERS, { fetch: () => Promise.reject(new TypeError('fetch failed')) });
    const a = await refused.forward(PEERS[1]!, meta());
    expect(a.status).toBe(502);
    expect(JSON.parse(a.body.toString())).toMatchObject({ error: { code: 'PEER_UNREACHABLE' } });

    const silent = new PeerForwarder('gw1', PEERS, {
      timeoutMs: 50,
      fetch: (_url, init) =>
        new Promise((_resolve, reject) => {
          init.signal?.addEventListener('abort', () => reject(init.signal!.reason as Error));
        }),
    });
    const t0 = Date.now();
    const b = await silent.forward(PEERS[1]!, meta());
    expect(b.status).toBe(502);
    expect(b.body.toString()).toMatch(/within 50 ms/);
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('forwards one hop only: a forwarded request for a call that is not here is not sent on again', () => {
    const { fetch, calls } = recordingFetch(() => Promise.resolve(new Response('')));
    const f = new PeerForwarder('gw1', PEERS, { fetch });
    expect(f.relay(fakeReply().r, newCallId('gw2'), meta({ forwardedBy: 'gw3' }))).toBe(false);
    expect(f.relay(fakeReply().r, newCallId('gw9'), meta())).toBe(false);
    expect(calls).toEqual([]);
  });
});
