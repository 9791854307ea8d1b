/**
 * Responses the gateway answers from memory (a plugin's kong.response.exit, Kong's own errors, a buffered
 * service response) end at the end of the event-loop turn that produced them, every client's together, instead
 * of one write as each becomes ready.
 *
 * Why: each response write wakes the client waiting on that connection, and over loopback TCP the sender also
 * runs the receiver's side of the stack; a woken peer that slept longer than the gateway usually preempts it on
 * the spot. Writing each response as soon as its exit arrived interleaved those wakes with the rest of the turn
 * (the next plugin-server reply decoded, the next request parsed). Ending them in the check phase (setImmediate,
 * once the poll phase has handled every ready socket) puts the writes back to back, as the plugin server does
 * with its replies (kong/pluginserver/reply-writer.ts) and the RPC client with its calls. A lone response pays
 * one setImmediate: the turn has nothing else to do, so the check phase follows at once.
 *
 * Only `end` is deferred: the caller runs `writeHead` itself, so header validation still throws where the
 * response is built (and `headersSent` is true from then on), and a response ends exactly once either way.
 */
import type { ServerResponse } from 'node:http';

const responses: ServerResponse[] = [];
const bodies: Array<Buffer | undefined> = [];

function endDue(): void {
  // end() never calls back into this module synchronously, but read the length on every pass regardless.
  for (let i = 0; i < responses.length; i++) responses[i]!.end(bodies[i]);
  responses.length = 0;
  bodies.length = 0;
}

/** Ends `res` with `body` (undefined: no body) at the end of this event-loop turn. */
export function endAtTurnEnd(res: ServerResponse, body: Buffer | undefined): void {
  if (responses.push(res) === 1) setImmediate(endDue);
  bodies.push(body);
}
