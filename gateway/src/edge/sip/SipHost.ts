import type { DialGuard } from '../../agent/dialGuard.js';
import type { CallRegistry } from '../../call/CallRegistry.js';
import type { Metrics } from '../../metrics.js';
import type { RoutingTable } from '../../routing.js';
import type { Settings, SipSettings } from '../../settings.js';

/** What the SIP service needs of the gateway. */
export interface SipHost {
  registry: CallRegistry;
  routing: RoutingTable;
  metrics: Metrics;
  rtpBindHost: string;
  rtpPacketsPerSecond: number;
  sip: SipSettings;
  tls: Settings['tls'];
  /** where dial-outs may go (absent: anywhere, for embedders and tests of the SIP stack alone) */
  dialGuard?: DialGuard;
}
