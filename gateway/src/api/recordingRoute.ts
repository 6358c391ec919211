import { createReadStream } from 'node:fs';
import type uWS from 'uWebSockets.js';
import type { CallRegistry } from '../call/CallRegistry.js';
import type { RecordingStore } from '../call/RecordingStore.js';
import { GatewayError } from '../errors.js';
import { sendError, type Reply } from '../http.js';
import type { Settings } from '../settings.js';
import { PeerForwarder, requestMeta, type RequestMeta } from './forward.js';
import type { Guard } from './Guard.js';

/** Bytes read from disk per chunk when serving a recording. */
const CHUNK = 64 * 1024;

/**
 * `GET /v1/calls/{id}/recording`: the call's stereo WAV, authorised like every call route. It is
 * there once the call has ended (and its file is finished) until the retention sweep removes it;
 * while the call lasts the answer is 409 RECORDING_IN_PROGRESS. An id another instance holds is
 * forwarded to it (forward.ts), as the other call routes are.
 */
export function recordingRoutes(
  app: uWS.TemplatedApp,
  registry: CallRegistry,
  store: RecordingStore,
  guard: Guard,
  cluster: Pick<Settings, 'instance' | 'peers'>,
): void {
  const peers = new PeerForwarder(cluster.instance, cluster.peers);
  app.get('/v1/calls/:id/recording', (res, req) => {
    const id = req.getParameter(0);
    const meta = requestMeta(req);
    const r: Reply = { res, aborted: false };
    // The file may be streamed later: an abort must also stop the read.
    let onAbort = (): void => {};
    res.onAborted(() => {
      r.aborted = true;
      onAbort();
    });
    guard.authorized(r, req, () => {
      void serve(r, id, meta).catch((err: unknown) => {
        sendError(r, err);
      });
    });

    async function serve(r: Reply, id: string, meta: RequestMeta): Promise<void> {
      const call = registry.get(id);
      if (call !== undefined && call.route.record === null)
        throw new GatewayError('NOT_FOUND', 'this call is not recorded', { status: 404 });
      if (call !== undefined || store.isLive(id))
        throw new GatewayError('RECORDING_IN_PROGRESS', 'the call is still being recorded: its recording is there once it ends', {
          status: 409,
        });
      const found = await store.find(id);
      if (found !== null) {
        onAbort = stream(r, found.path, found.size, `${id}.wav`);
        return;
      }
      if (!peers.relay(r, id, meta))
        throw new GatewayError('NOT_FOUND', 'no recording for this call (not recorded, or removed by retention)', { status: 404 });
    }
  });
}

/**
 * Streams a file as the response, respecting backpressure (uWS tryEnd/onWritable: a slow client
 * pauses the read instead of filling memory). Returns what to run when the client goes away.
 */
function stream(r: Reply, path: string, size: number, name: string): () => void {
  const file = createReadStream(path, { highWaterMark: CHUNK });
  const res = r.res;
  res.cork(() => {
    res.writeStatus('200 OK').writeHeader('content-type', 'audio/wav').writeHeader('content-disposition', `attachment; filename="${name}"`);
  });
  file.on('data', (chunk) => {
    // Each chunk is a fresh buffer (never reused by the stream), so it may wait for a slow client.
    const buf = chunk as Buffer;
    if (r.aborted) return void file.destroy();
    res.cork(() => {
      const start = res.getWriteOffset();
      const [ok, done] = res.tryEnd(buf, size);
      if (done) return void file.destroy();
      if (ok) return;
      // The client is slow: wait for it, then send the rest of this chunk.
      file.pause();
      res.onWritable((offset) => {
        if (r.aborted) return true;
        const [ok2, done2] = res.tryEnd(buf.subarray(offset - start), size);
        if (done2) file.destroy();
        else if (ok2) file.resume();
        return ok2;
      });
    });
  });
  file.on('error', () => {
    if (!r.aborted) res.cork(() => res.close());
  });
  return () => {
    file.destroy();
  };
}
