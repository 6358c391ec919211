import { parseRoute, type Route } from '../route.js';
import type { RoutingTable } from '../routing.js';
import { toE164 } from '../e164.js';
import { GatewayError } from '../errors.js';
import { CODEC_INFO, COMFORT_NOISE_PAYLOAD_TYPE, DTMF_PAYLOAD_TYPE, parseCodecName, type EdgeCodecName } from '../media/edgeCodecs.js';

/** What a new call needs to know, whichever edge asked for it. */
export interface CallRequest {
  codec: EdgeCodecName;
  payloadType: number;
  dtmfPayloadType: number;
  from: string;
  to: string;
  route: Route;
}

/**
 * Validates a start request (a POST /v1/calls body or a /v1/edge start message); errors name the
 * field. The route comes with the request, or from the routing table by the called number.
 */
export function parseCallRequest(body: unknown, routing: RoutingTable): CallRequest {
  if (typeof body !== 'object' || body === null) throw new GatewayError('BAD_REQUEST', 'body must be a JSON object');
  const b = body as Record<string, unknown>;
  const codec = parseCodecName(b['codec']);
  if (codec === null)
    throw new GatewayError('CODEC_UNSUPPORTED', `codec: must be one of PCMU, PCMA, opus (got ${JSON.stringify(b['codec'])})`);
  const pt = b['payloadType'] ?? CODEC_INFO[codec].payloadType;
  const taken = pt === DTMF_PAYLOAD_TYPE || pt === COMFORT_NOISE_PAYLOAD_TYPE;
  if (typeof pt !== 'number' || !Number.isInteger(pt) || pt < 0 || pt > 127 || taken) {
    const others = `${DTMF_PAYLOAD_TYPE} (telephone-event) and ${COMFORT_NOISE_PAYLOAD_TYPE} (comfort noise)`;
    throw new GatewayError('BAD_REQUEST', `payloadType: must be an integer 0..127 other than ${others}`);
  }
  const clockRate = b['clockRate'];
  if (clockRate !== undefined && clockRate !== CODEC_INFO[codec].clockRate) {
    throw new GatewayError('CODEC_UNSUPPORTED', `clockRate: ${codec} runs at ${CODEC_INFO[codec].clockRate} Hz`);
  }
  const from = number(b, 'from');
  const to = number(b, 'to');
  let route: Route;
  try {
    route = b['route'] !== undefined ? parseRoute(b['route']) : routing.lookup(to === '' ? undefined : to);
  } catch (err) {
    if (err instanceof GatewayError) throw new GatewayError('BAD_REQUEST', err.message);
    throw err;
  }
  return { codec, payloadType: pt, dtmfPayloadType: DTMF_PAYLOAD_TYPE, from, to, route };
}

/** An optional E.164 number field ('' when absent). */
function number(b: Record<string, unknown>, field: string): string {
  const v = b[field];
  if (v === undefined || v === null || v === '') return '';
  if (typeof v !== 'string') throw new GatewayError('BAD_REQUEST', `${field}: must be a string`);
  try {
    return toE164(v);
  } catch (err) {
    throw new GatewayError('INVALID_NUMBER', `${field}: ${(err as Error).message}`);
  }
}
