import { log } from '../log.js';
import type { Call } from './Call.js';

/**
 * The agent asks to connect the caller elsewhere (a SIP URI): the edge refers the far end there
 * (SIP REFER). A blind transfer that succeeded leaves us out of the call (RFC 5589 §6), so the call
 * ends `transferred`; a refusal is told to the agent, and the call goes on.
 */
export function transferCall(call: Call, target: string): void {
  const edge = call.edge;
  if (edge.transfer === undefined) return call.invalid('CONTROL_INVALID', `a ${edge.kind} edge cannot transfer calls`);
  log('info', 'transfer', { callId: call.id, target });
  const failed = (why: string) => {
    call.agent?.event({ type: 'error', code: 'TRANSFER_FAILED', message: `transfer to ${target} failed: ${why}` });
  };
  edge.transfer(target).then(
    (status) => {
      log('info', 'transfer_result', { callId: call.id, target, status });
      if (status >= 200 && status < 300) call.close('transferred');
      else failed(String(status));
    },
    (err: unknown) => {
      failed(String(err));
    },
  );
}
