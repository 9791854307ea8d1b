/**
 * The plugin's phase handlers. Kong (or the local gateway) creates one instance per worker per config change;
 * the instance only validates its config and points at the module-scope runtime for its `__plugin_id`
 * (engine/runtime.ts). `access` does the whole non-streaming request (design.md "Why the plugin owns the
 * upstream call"). `log` reports streamed requests once their stream ended (observability/log-phase.ts).
 */
import type { FilledConfig, PluginConfig } from '../../schemas/config';
import type { AttemptDeps } from './engine/attempts';
import { Engine } from './engine/engine';
import type { EnginePdk } from './engine/pdk';
import { errorResponse } from './engine/responses';
import { buildRuntime, type BalancerSource } from './engine/runtime';
import { defaultAttemptDeps, defaultBalancerSource } from './engine/defaults';
import { ConfigError } from './errors';
import { clusterGate } from './cluster';
import { warmSemantic } from './semantic';
import { logPhase, logPhaseHasWork, type LogPhasePdk } from './observability/log-phase';
import { validateConfig } from '../../schemas';

export type KongPdk = EnginePdk;

/** The config as the schema fills it (defaults), or a ConfigError naming every invalid field (validateConfig also runs the engine's own checks, engine/config-check.ts). */
function validatedConfig(config: PluginConfig): FilledConfig {
  const r = validateConfig(config);
  if (r.ok) return r.config;
  const detail = r.errors.map((e) => (e.path === '' ? e.message : `${e.path}: ${e.message}`)).join('; ');
  throw new ConfigError(`invalid ai-proxy-advanced config: ${detail}`);
}

export interface HandlerDeps {
  balancers: BalancerSource;
  attempt: AttemptDeps;
}

export class AiProxyAdvanced {
  readonly config: PluginConfig;
  private readonly engine: Engine | undefined;
  private readonly configError: unknown;

  constructor(config: PluginConfig, deps: Partial<HandlerDeps> = {}) {
    this.config = config;
    let engine: Engine | undefined;
    let configError: unknown;
    try {
      const valid = validatedConfig(config);
      const runtime = buildRuntime(valid, deps.balancers ?? defaultBalancerSource);
      engine = new Engine(runtime, deps.attempt ?? defaultAttemptDeps);
      warmSemantic(valid, (deps.attempt ?? defaultAttemptDeps).signDeps);
    } catch (err) {
      configError = err;
    }
    this.engine = engine;
    this.configError = configError;
  }

  async access(kong: KongPdk): Promise<void> {
    // Until the cluster's saved state is read back (bounded), a pick could land on a held-out target.
    const gate = clusterGate(this.config.__plugin_id);
    if (gate !== undefined) await gate;
    if (this.engine) return this.engine.handle(kong);
    const r = errorResponse(this.configError);
    await kong.response.exit(r.status, JSON.stringify(r.body), r.headers);
  }

  /**
   * Kong sends a log event for every request. With nothing to do (no streamed request waiting, the sink not
   * logging every request) it returns at once, not even a promise: the plugin server then answers "ret" in the
   * same turn (kong/pluginserver/server.ts HandleEvent).
   */
  log(kong: LogPhasePdk): Promise<void> | undefined {
    if (!this.engine || !logPhaseHasWork()) return undefined;
    return logPhase(kong, this.config);
  }
}
