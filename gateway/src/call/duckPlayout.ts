import type { Agent } from '../agent/Agent.js';
import type { Playout } from '../media/Playout.js';
import type { Route } from '../route.js';

/**
 * Ducks a call's playout on early evidence of an interruption, or brings it back, and tells an
 * agent that asked for it (`bargeIn.duckEvents`): `barge_in_suspected`, `barge_in_resumed`.
 */
export function duckPlayout(
  call: { readonly playout: Playout; readonly route: Route; readonly agent: Agent | null },
  on: boolean,
  atMs: number,
  resumed: boolean,
): void {
  const o = call.route.bargeIn;
  call.playout.gain.set(on ? o.duckDb : 0);
  if (!o.duckEvents) return;
  if (on) call.agent?.event({ type: 'barge_in_suspected', atMs });
  else if (resumed) call.agent?.event({ type: 'barge_in_resumed', atMs });
}
