/**
 * `config.llm_format`: the API the client speaks. `openai` (the default) is translated to each target's provider
 * by its driver; any other value is that provider's own API (Kong 3.10+ "native formats"), passed through:
 *  - the request: the format reads model, stream flag and prompt from the native body and path (Kong's
 *    adapters, kong/llm/plugin/shared-filters/parse-request.lua `to_kong_req`); the engine runs its usual
 *    checks on that view (prompt present, own model, response_streaming), and the native body goes to the
 *    target as the client sent it (normalize-request.lua skips to_format when an adapter is set);
 *  - the upstream: the URL the driver builds for the target (config, model, stream), never the client's path;
 *  - the answer: the provider's bytes, buffered or streamed, with its status and content type; the driver's
 *    own translators read them alongside for usage, model and text (analytics, balancer), as Kong's
 *    parse-json-response.lua / normalize-sse-chunk.lua do for native formats;
 *  - failover, auth, signing, timeouts and errors: the same attempt loop as translated requests.
 * Only a target of the format's own provider serves it (schemas/entity-checks.ts `native_format_targets`), but
 * for `anthropic`, which any target serves by translation (Kong's Claude Code examples).
 */
import type { FilledConfig } from '../../../schemas/config';
import { UnsupportedFeatureError } from '../errors';
import { getDriver } from '../providers';
import type { NativeFormat, ProviderDriver, TranslateContext, TranslatedResponse } from '../providers/provider';
import { createPassThroughTranslator } from '../providers/streams/pass-through';
import { anthropicMessageOf, createMessagesStream, openAiRequestOf } from '../providers/anthropic/messages-format';
import type { ParsedBody } from './parse-request';
import type { ClientRequest } from './pdk';
import { withOwn } from '../providers/translator-kit/assign-own';

function formatOf(config: FilledConfig): string | undefined {
  const f = config.llm_format;
  return f == null || f === 'openai' ? undefined : f;
}

/** The driver serving `llm_format: <format>` natively, or a refusal naming why (config-check.ts runs it at start). */
export function nativeFormat(format: string): NativeFormat {
  const native = getDriver(format as Parameters<typeof getDriver>[0]).native;
  if (!native) throw new UnsupportedFeatureError(`llm_format '${format}' is not supported by this version of ai-proxy-advanced`);
  return native;
}

/** Whether the format reads the route's named URI captures (one more PDK call per request). */
export function formatReadsUriCaptures(config: FilledConfig): boolean {
  const format = formatOf(config);
  return format !== undefined && nativeFormat(format).readsUriCaptures === true;
}

/**
 * The parsed request as the engine checks it. For a native format: `json` is the view the format reads (model,
 * stream, messages) and `native` the client's body as sent.
 */
export function readLlmFormat(config: FilledConfig, client: ClientRequest, parsed: ParsedBody): ParsedBody {
  const format = formatOf(config);
  if (format === undefined) return parsed;
  const view = nativeFormat(format).read(parsed.json, client.path, client.uriCaptures);
  const json: Record<string, unknown> = { messages: view.messages.map((m) => ({ role: m.role, content: m.content })) };
  if (view.model !== undefined) json['model'] = view.model;
  if (view.stream) json['stream'] = true;
  return { raw: parsed.raw, json, native: parsed.json };
}

const NO_USAGE = Object.freeze({ prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 });
const passThroughDrivers = new WeakMap<ProviderDriver, ProviderDriver>();

const messagesDrivers = new WeakMap<ProviderDriver, ProviderDriver>();

/**
 * The driver an attempt uses: the target's own for `openai`; for a native format, the pass-through of the
 * format's own provider, or, for `anthropic` on another provider, the Anthropic Messages translation around the
 * target's driver (config-check.ts refuses any other pairing).
 */
export function driverForFormat(config: FilledConfig, driver: ProviderDriver): ProviderDriver {
  const format = formatOf(config);
  if (format === undefined) return driver;
  const [cache, make] = format === 'anthropic' && driver.name !== 'anthropic' ? [messagesDrivers, messagesDriver] : [passThroughDrivers, passThroughDriver];
  let d = cache.get(driver);
  if (!d) cache.set(driver, (d = make(driver)));
  return d;
}

/**
 * `llm_format: anthropic` on a target of another provider: Anthropic Messages in, the target's driver from and to
 * the OpenAI format, Anthropic messages (or stream events) out (providers/anthropic/messages-format.ts).
 */
function messagesDriver(driver: ProviderDriver): ProviderDriver {
  const sign = driver.sign;
  // The driver's stream ends with a usage chunk, whatever the client asked: message_delta reports usage.
  const withUsage = (ctx: TranslateContext): TranslateContext => withOwn(ctx, { includeUsage: true });
  return Object.freeze({
    name: driver.name,
    routeTypes: driver.routeTypes,
    toRequest: (body, ctx) => driver.toRequest(openAiRequestOf(body), withUsage(ctx)),
    fromResponse(status, headers, body, ctx): TranslatedResponse {
      const t = driver.fromResponse(status, headers, body, ctx);
      return { body: anthropicMessageOf(t.body, ctx.model, t.usage), usage: t.usage, model: t.model };
    },
    fromError: (status, headers, body, ctx) => driver.fromError(status, headers, body, ctx),
    createStreamTranslator(ctx) {
      if (!driver.createStreamTranslator) throw new UnsupportedFeatureError(`provider ${driver.name} cannot stream responses yet; send stream: false`);
      return createMessagesStream(driver.createStreamTranslator(withUsage(ctx)), ctx.model);
    },
    ...(sign ? { sign: (req, ctx, deps) => sign(req, ctx, deps) } : {}),
  } satisfies ProviderDriver);
}

function passThroughDriver(driver: ProviderDriver): ProviderDriver {
  const native = nativeFormat(driver.name);
  // The driver's translators read the native answer as the route type whose answers have that shape.
  const reading = (ctx: TranslateContext): TranslateContext => withOwn(ctx, { routeType: native.answersAs });
  const sign = driver.sign;
  return Object.freeze({
    name: driver.name,
    routeTypes: driver.routeTypes,
    native,
    toRequest: (body, ctx) => native.toRequest(body, ctx),
    fromResponse(status, headers, body, ctx): TranslatedResponse {
      // Kong's native adapters count what the answer reports and pass it on whatever it holds (0 tokens when
      // unreadable): the client gets the provider's bytes either way.
      try {
        const t = driver.fromResponse(status, headers, body, reading(ctx));
        return { body, raw: body, usage: t.usage, model: t.model };
      } catch {
        return { body, raw: body, usage: { ...NO_USAGE } };
      }
    },
    fromError: (status, headers, body, ctx) => driver.fromError(status, headers, body, ctx),
    createStreamTranslator(ctx) {
      if (!driver.createStreamTranslator) throw new UnsupportedFeatureError(`provider ${driver.name} cannot stream responses yet; send stream: false`);
      return createPassThroughTranslator(driver.createStreamTranslator(reading(ctx)));
    },
    ...(sign ? { sign: (req, ctx, deps) => sign(req, ctx, deps) } : {}),
  } satisfies ProviderDriver);
}
