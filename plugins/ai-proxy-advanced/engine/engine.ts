/**
 * One request: read the client request once → parse → then one of two deliveries.
 * - Buffered: attempts → analytics → exit. `exit` is the last PDK call (Kong never resumes the handler after
 *   it), and no argument before the last is ever null/undefined (kong-plugin-protocol.md §2.8: a hole drops the
 *   headers).
 * - Streamed (`stream: true` or `response_streaming: always`): a check that the route has a service, a ticket
 *   for the loopback stream endpoint (stream-endpoint.ts), which starts the attempts at once, and two PDK calls
 *   pointing Kong's upstream at it (three when the service's protocol is not http).
 */
import type { FilledConfig } from '../../../schemas/config';
import type { AiProxyBlock } from './analytics';
import { pendingStreams, recordOutcome, StreamRecord } from '../observability/record';
import { LOG_PHASE_DECLARED } from '../observability/log-phase';
import { withOwn } from '../providers/translator-kit/assign-own';
import { runAttempts, type AttemptDeps, type BufferedResult, type PluginRuntime } from './attempts';
import { parsePassThroughBody, parseRequestBody, type ParsedBody } from './parse-request';
import { formatReadsUriCaptures, readLlmFormat } from './llm-format';
import { passThroughRoute, mayStream } from './route-types';
import { firstHeader, readClientRequest, type ClientRequest, type EnginePdk, type ReadNeeds } from './pdk';
import { errorResponse, upstreamFailureError, wireBody, type ClientResponse } from './responses';
import { STREAM_PATH, streamEndpoint } from './stream-endpoint';
import { isStreamRequest, modelHeaderValue } from './target-context';
import { usesUriCaptures } from './templating';
import { ConfigError, InvalidRequestError } from '../errors';
import { kongHeaderSettings, proxiedHeaders, type KongHeaderSettings } from './kong-headers';
import { acceptsGzip, gzipAnswer } from './encoding';
import { ineligibleTargets, targetFiltersOf, type TargetFilters } from './request-targets';

export function readNeedsOf(config: FilledConfig): ReadNeeds {
  return {
    // preserve forwards the client's method; the REST route types (files, responses, ...) take GET and DELETE too.
    method: config.targets.some((t) => t.route_type === 'preserve' || passThroughRoute(t.route_type) !== undefined),
    uriCaptures: config.targets.some((t) => usesUriCaptures(t.model)) || formatReadsUriCaptures(config),
    maxBody: config.max_request_body_size,
  };
}

export function responseOf(result: BufferedResult, config: FilledConfig, client: ClientRequest): ClientResponse {
  switch (result.kind) {
    case 'success': {
      // A fresh object per answer (attempts.ts passedResponseHeaders) that nothing else reads: completed in place.
      const headers = result.headers;
      const body = wireBody(result.body);
      if (!Buffer.isBuffer(result.body)) headers['content-type'] = 'application/json';
      else if (headers['content-type'] === undefined) headers['content-type'] = 'application/json';
      // Kong: only for a 200 from the service, when model_name_header (filled: default true) or the client sent Kong-Debug.
      const wantHeader = config.model_name_header || client.headers.has('kong-debug');
      const modelHeader = modelHeaderValue(result.target.model.provider, result.model);
      if (wantHeader && result.model !== '' && modelHeader !== undefined) headers['x-kong-llm-model'] = modelHeader;
      return { status: 200, body, headers };
    }
    case 'upstream-status':
      return { status: result.status, body: result.body, headers: result.headers };
    case 'failure':
      return errorResponse(upstreamFailureError(result.failure, result.reason));
    case 'translation-error':
      return errorResponse(result.error);
  }
}

export class Engine {
  private readonly needs: ReadNeeds;
  private readonly kongHeaders: KongHeaderSettings;
  /** Some target passes OpenAI's other APIs through: bodies may also be empty or multipart (engine/route-types). */
  private readonly passThrough: boolean;
  /** model_alias / acls: undefined for a config with neither (no extra work per request). */
  private readonly filters: TargetFilters | undefined;

  constructor(
    private readonly runtime: PluginRuntime,
    private readonly deps: AttemptDeps,
  ) {
    this.needs = readNeedsOf(runtime.config);
    this.passThrough = runtime.config.targets.some((t) => passThroughRoute(t.route_type) !== undefined);
    this.kongHeaders = kongHeaderSettings(deps.signDeps.env);
    this.filters = targetFiltersOf(runtime.config);
  }

  async handle(kong: EnginePdk): Promise<void> {
    const { runtime: rt, deps } = this;
    const started = deps.now();
    let response: ClientResponse;
    let analytics: AiProxyBlock | undefined;
    let unexpected: unknown;
    let failureNote: string | undefined;
    let gzipIt = false;
    try {
      let client = await readClientRequest(kong, this.needs);
      const contentType = firstHeader(client.headers, 'content-type');
      // Native llm_formats need route_type llm/v1/chat (config time), so they never meet a pass-through route type.
      const parsed: ParsedBody = this.passThrough
        ? await parsePassThroughBody(client.body, client.headers.get('content-type'), rt.config.max_request_body_size)
        : readLlmFormat(rt.config, client, parseRequestBody(client.body, contentType, rt.config.max_request_body_size));
      if (this.filters) client = withOwn(client, { ineligible: await ineligibleTargets(this.filters, rt.config, kong, client, parsed) });
      if (isStreamRequest(parsed.json, rt.config) && (!this.passThrough || mayStream(rt.config, client, parsed))) {
        if (rt.config.response_streaming === 'deny') throw new InvalidRequestError('response streaming is not enabled for this LLM');
        // Kong answers 503 "no Service found with those values" after access for a route without a service
        // (kong/init.lua access phase), whatever set_target said: name the cause instead.
        // Asked on every streamed request, not remembered per plugin instance (issue 10): Kong keeps an instance
        // while its route's service, or that service's protocol, changes. DB mode rebuilds only the router on a
        // route or service edit (kong/runloop/events.lua crud_routes_handler, crud_services_handler), and a
        // declarative reload rebuilds the plugins iterator, which gives configs a new __seq__ and so new
        // instances, only when the plugins' own hash changed (kong/db/declarative/import.lua plugins_hash,
        // kong/runloop/handler.lua reconfigure_handler). A remembered "http" would then skip set_scheme for a
        // service that became https, and Kong would speak TLS to the plain endpoint: a 502 for a request that
        // works today.
        const service = await kong.router.getService();
        if (service === null || service === undefined || Array.isArray(service)) {
          throw new ConfigError(
            'streaming needs the route to belong to a service (any URL: the plugin points it at its stream endpoint); this route has none',
          );
        }
        const ep = await streamEndpoint();
        const record = new StreamRecord(rt.config, started, deps.now);
        // The provider is called from here on (stream-endpoint.ts): the calls below overlap its first event.
        const path = ep.issue({
          record,
          rt,
          client,
          parsed,
          deps,
          respond: (result) => responseOf(result, rt.config, client),
          // The access phase is over by then: the plugin server's stderr is Kong's error log.
          log: (message) => process.stderr.write(`[ai-proxy-advanced] ${message}\n`),
        });
        const ticket = path.slice(STREAM_PATH.length);
        // Kept for the log phase to claim; without one (AI_PROXY_ADVANCED_LOG_PHASE=off) the ticket's own expiry drops it.
        if (LOG_PHASE_DECLARED) pendingStreams.add(ticket, record);
        try {
          // Every PDK call is a round trip to Kong before it can connect to the endpoint, so none is made that
          // would change nothing: Kong's upstream scheme starts as the service's protocol (kong/runloop/handler.lua,
          // `var.upstream_scheme = match_t.upstream_scheme`), so an http service needs no set_scheme.
          await kong.service.setTarget(ep.host, ep.port);
          if (service.protocol !== 'http') await kong.service.request.setScheme('http');
          await kong.service.request.setPath(path);
        } catch (err) {
          // Kong will not come for this ticket: stop its provider request now.
          ep.dropUnclaimed(ticket);
          throw err;
        }
        return;
      }
      const result = await runAttempts(rt, client, parsed, deps);
      response = responseOf(result, rt.config, client);
      // A provider answered (or was tried): the headers Kong puts on a proxied answer, which an exit lacks.
      const times = { startedAt: started, sentAt: result.sentAt, answeredAt: deps.now() };
      proxiedHeaders(this.kongHeaders, times, response.headers['via'], response.headers);
      // The provider's answers (not nginx's error pages for a try that got none) go gzipped to a client asking.
      gzipIt = result.kind !== 'failure' && acceptsGzip(firstHeader(client.headers, 'accept-encoding'));
      if (result.kind === 'failure') {
        failureNote = `ai-proxy-advanced: no upstream answered (${result.tried.length} attempt(s)); last: ${result.reason}`;
      }
      const success = result.kind === 'success';
      analytics = recordOutcome({
        config: rt.config,
        result,
        mode: 'oneshot',
        latencyMs: deps.now() - started,
        responseBody: success ? (Buffer.isBuffer(result.body) ? result.body : (response.body as string)) : undefined,
      });
    } catch (err) {
      response = errorResponse(err);
      if (response.status >= 500 && !(err as { userFacing?: boolean })?.userFacing) unexpected = err;
    }
    if (unexpected !== undefined) {
      // Messages are ours or undici's; neither carries request headers or URLs with auth params.
      await kong.log.err('ai-proxy-advanced: unexpected error: ', (unexpected as Error)?.stack ?? String(unexpected));
    }
    if (failureNote !== undefined) await kong.log.err(failureNote);
    // One call for the whole block (analytics.ts): each PDK call is a round trip to Kong.
    if (analytics !== undefined) await kong.log.setSerializeValue('ai.proxy', analytics);
    const body = gzipIt ? await gzipAnswer(wireBody(response.body), response.headers) : wireBody(response.body);
    await kong.response.exit(response.status, body, response.headers);
  }
}
