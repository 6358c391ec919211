import type { GatewayErrorCode } from '../errors.js';
import type uWS from 'uWebSockets.js';
import { instanceTag, instanceTagOf } from '../call/callId.js';
import { log } from '../log.js';
import type { Reply } from '../http.js';
import type { Peer } from '../settings.js';

/** Set on a forwarded request: its receiver answers from its own calls and never forwards it again. */
export const FORWARDED_BY = 'x-gateway-forwarded-by';
/** How long a peer has to answer a forwarded request, ms. */
export const FORWARD_TIMEOUT_MS = 2000;

/** What a forwarded request needs of the original (read at once: uWS requests die when the handler returns). */
export interface RequestMeta {
  /** upper case, as sent on */
  method: string;
  /** the path as received (no query) */
  path: string;
  authorization: string;
  query: string;
  contentType: string;
  forwardedBy: string;
}

export function requestMeta(req: uWS.HttpRequest): RequestMeta {
  return {
    method: req.getMethod().toUpperCase(),
    path: req.getUrl(),
    authorization: req.getHeader('authorization'),
    query: req.getQuery() || '', // uWS gives undefined when there is none, whatever its types say
    contentType: req.getHeader('content-type'),
    forwardedBy: req.getHeader(FORWARDED_BY),
  };
}

/** A peer's answer, passed back as it came. */
export interface Forwarded {
  status: number;
  statusText: string;
  contentType: string;
  body: Buffer;
}

export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

/**
 * API requests for calls held by another instance: the call id names its instance (callId.ts),
 * GATEWAY_PEERS says where each instance's API is, and the request is sent there as it came (same
 * method, path, query, Authorization), its answer passed back. No shared state: an instance that is
 * not in the list, or an id that is not instance-shaped, is simply not found (404).
 */
export class PeerForwarder {
  readonly #instance: string;
  readonly #byTag = new Map<string, Peer>();
  readonly #timeoutMs: number;
  readonly #fetch: FetchLike;

  constructor(instance: string, peers: readonly Peer[], opts: { timeoutMs?: number; fetch?: FetchLike } = {}) {
    this.#instance = instance;
    const own = instanceTag(instance);
    for (const p of peers) if (instanceTag(p.name) !== own) this.#byTag.set(instanceTag(p.name), p);
    this.#timeoutMs = opts.timeoutMs ?? FORWARD_TIMEOUT_MS;
    this.#fetch = opts.fetch ?? ((url, init) => fetch(url, init));
  }

  /** The peer holding call `id`, or null: the id is ours, names no listed peer, or is not instance-shaped. */
  peerOf(id: string): Peer | null {
    const tag = instanceTagOf(id);
    return tag === null ? null : (this.#byTag.get(tag) ?? null);
  }

  /**
   * Sends the request for call `id` on to the peer it names and answers `r` with what the peer
   * says. False (nothing sent, the caller answers 404) when no peer holds it, or when the request
   * was itself forwarded (one hop only, so a misconfigured list cannot loop).
   */
  relay(r: Reply, id: string, meta: RequestMeta, body?: Buffer): boolean {
    const peer = meta.forwardedBy === '' ? this.peerOf(id) : null;
    if (peer === null) return false;
    void this.forward(peer, meta, body).then((answer) => {
      sendForwarded(r, answer);
    });
    return true;
  }

  /** The request, sent to `peer`; a peer that cannot be reached in time is answered 502 PEER_UNREACHABLE. */
  async forward(peer: Peer, meta: RequestMeta, body?: Buffer): Promise<Forwarded> {
    const { method, path } = meta;
    const headers: Record<string, string> = { [FORWARDED_BY]: this.#instance };
    if (meta.authorization !== '') headers['authorization'] = meta.authorization;
    if (body !== undefined && meta.contentType !== '') headers['content-type'] = meta.contentType;
    const url = `${peer.url}${path}${meta.query === '' ? '' : `?${meta.query}`}`;
    try {
      const res = await this.#fetch(url, {
        method,
        headers,
        ...(body === undefined ? {} : { body: new Uint8Array(body) }),
        signal: AbortSignal.timeout(this.#timeoutMs),
        redirect: 'manual',
      });
      return {
        status: res.status,
        statusText: res.statusText,
        contentType: res.headers.get('content-type') ?? 'application/json',
        body: Buffer.from(await res.arrayBuffer()),
      };
    } catch (err) {
      const why = err instanceof Error && err.name === 'TimeoutError' ? `no answer within ${this.#timeoutMs} ms` : String(err);
      log('warn', 'forward_failed', { peer: peer.name, method, path, error: why });
      const error = {
        code: 'PEER_UNREACHABLE' satisfies GatewayErrorCode,
        message: `the call is held by instance ${peer.name}, which cannot be reached: ${why}`,
      };
      return { status: 502, statusText: 'Bad Gateway', contentType: 'application/json', body: Buffer.from(JSON.stringify({ error })) };
    }
  }
}

function sendForwarded(r: Reply, f: Forwarded): void {
  if (r.aborted) return;
  r.res.cork(() => {
    r.res
      .writeStatus(`${f.status} ${f.statusText || 'Forwarded'}`)
      .writeHeader('content-type', f.contentType)
      .end(f.body);
  });
}
