import type uWS from 'uWebSockets.js';
import type { Guard } from '../api/Guard.js';
import { GatewayError } from '../errors.js';
import { reply, sendError, upgrader } from '../http.js';
import type { Metrics } from '../metrics.js';
import type { AgentLink } from './AgentLink.js';
import { uwsAgentSocket } from './AgentSocket.js';
import { AGENT_MAX_MESSAGE, type AgentSupervisor } from './AgentSupervisor.js';

interface AgentSocketData {
  callId: string;
  link: AgentLink | null;
  open: boolean;
}

/** `/v1/calls/{id}/agent`: an agent dials in to a call whose route awaits it ("url": "dial-in"). */
export function dialInRoute(app: uWS.TemplatedApp, agents: AgentSupervisor, guard: Guard, metrics: Metrics): void {
  app.ws<AgentSocketData>('/v1/calls/:id/agent', {
    maxPayloadLength: AGENT_MAX_MESSAGE,
    idleTimeout: 60,
    maxBackpressure: 2 * 1024 * 1024,
    upgrade: (res, req, context) => {
      const callId = req.getParameter(0);
      const upgrade = upgrader(res, req, context);
      guard.authorized(reply(res), req, (r) => {
        if (!agents.awaitsDialIn(callId))
          sendError(r, new GatewayError('NOT_FOUND', 'no call awaiting a dial-in agent with this id', { status: 404 }));
        else {
          const data: AgentSocketData = { callId, link: null, open: false };
          upgrade(data);
        }
      });
    },
    open: (ws) => {
      const d = ws.getUserData();
      const link = agents.takeDialIn(d.callId);
      if (link === undefined) return ws.end(4404, 'call gone');
      d.open = true;
      d.link = link;
      link.attach(uwsAgentSocket(ws, () => d.open));
    },
    message: (ws, message, isBinary) => ws.getUserData().link?.message(new Uint8Array(message), isBinary),
    close: (ws, code, message) => {
      const d = ws.getUserData();
      d.open = false;
      const text = Buffer.from(message).toString();
      if (code === 1006 && text.includes('too big')) metrics.drops.inc({ reason: 'FRAME_TOO_LARGE' });
      d.link?.closed(code, text);
    },
  });
}
