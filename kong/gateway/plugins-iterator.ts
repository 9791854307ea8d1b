/**
 * Which plugin configurations run for a request (kong/runloop/plugins_iterator.lua), rebuilt on every config
 * change:
 * - each enabled plugin entity becomes a Kong `conf`: its config with defaults, vault references resolved in
 *   referenceable fields, plus route_id / service_id, plugin_instance_name, __plugin_id, __ws_id, __key__ and a
 *   fresh `__seq__` from a counter that only grows (Kong: ngx.shared.kong:incr("plugins_iterator:__seq__"));
 * - per plugin name the most specific scope wins: route+service, then route, then service, then global;
 * - plugins run by PRIORITY, highest first (ties by name, as Kong's sort_by_handler_priority);
 * - rewrite runs only global plugins.
 */
import { resolveRecord } from './declarative/vault';
import type { PluginCatalog, PluginInfo } from './plugin-catalog';
import { DEFAULT_WORKSPACE_ID } from './pdk/serialize';
import { type Entity, refId, type Snapshot } from './store';

export interface ConfiguredPlugin {
  entity: Entity;
  info: PluginInfo;
  /** The table Kong JSON-encodes into StartInstance's Config. */
  conf: Record<string, unknown>;
  routeId: string | undefined;
  serviceId: string | undefined;
}

let seqCounter = 0;

export class PluginsIterator {
  private readonly byName = new Map<string, ConfiguredPlugin[]>();
  /**
   * forRequest's answers by route and service id. Bounded by the configuration (ids come from matched routes,
   * never from the request), and dropped with the iterator on the next config change.
   */
  private readonly picked = new Map<string, readonly ConfiguredPlugin[]>();
  readonly globals: ConfiguredPlugin[];

  constructor(snap: Snapshot, catalog: PluginCatalog, env: NodeJS.ProcessEnv, warn: (m: string) => void) {
    const all: ConfiguredPlugin[] = [];
    for (const entity of snap.plugins) {
      if (entity.enabled === false) continue;
      const protocols = entity.protocols as string[] | undefined;
      // should_process_plugin: only plugins with an http-subsystem protocol (http, https, grpc, grpcs, ws, wss).
      if (protocols && !protocols.some((p) => ['http', 'https', 'grpc', 'grpcs', 'ws', 'wss'].includes(p))) continue;
      const info = catalog.get(entity.name as string);
      if (!info) continue;
      const routeId = refId(entity.route);
      const serviceId = refId(entity.service);
      const config = resolveRecord(info.configFields, (entity.config ?? {}) as Record<string, unknown>, env, warn);
      const conf: Record<string, unknown> = { ...config };
      if (routeId) conf.route_id = routeId;
      if (serviceId) conf.service_id = serviceId;
      if (typeof entity.instance_name === 'string') conf.plugin_instance_name = entity.instance_name;
      conf.__plugin_id = entity.id;
      conf.__ws_id = DEFAULT_WORKSPACE_ID;
      conf.__key__ = `plugins:${String(entity.name)}:${routeId ?? ''}:${serviceId ?? ''}::${DEFAULT_WORKSPACE_ID}`;
      conf.__seq__ = ++seqCounter;
      all.push({ entity, info, conf, routeId, serviceId });
    }
    for (const p of all) {
      const list = this.byName.get(p.info.name);
      if (list) list.push(p);
      else this.byName.set(p.info.name, [p]);
    }
    this.globals = sortByPriority(all.filter((p) => !p.routeId && !p.serviceId));
  }

  /** The plugins for a matched route/service, one per name, by priority (shared between requests: read-only). */
  forRequest(routeId: string | undefined, serviceId: string | undefined): readonly ConfiguredPlugin[] {
    const key = `${routeId ?? ''}|${serviceId ?? ''}`;
    let list = this.picked.get(key);
    if (!list) {
      list = Object.freeze(this.pick(routeId, serviceId));
      this.picked.set(key, list);
    }
    return list;
  }

  private pick(routeId: string | undefined, serviceId: string | undefined): ConfiguredPlugin[] {
    const out: ConfiguredPlugin[] = [];
    // `protocols` only selects the subsystem (should_process_plugin: an http-subsystem protocol), as in Kong.
    for (const list of this.byName.values()) {
      const pick =
        list.find((p) => routeId && serviceId && p.routeId === routeId && p.serviceId === serviceId) ??
        list.find((p) => routeId && p.routeId === routeId && !p.serviceId) ??
        list.find((p) => serviceId && p.serviceId === serviceId && !p.routeId) ??
        list.find((p) => !p.routeId && !p.serviceId);
      if (pick) out.push(pick);
    }
    return sortByPriority(out);
  }
}

function sortByPriority(list: ConfiguredPlugin[]): ConfiguredPlugin[] {
  return [...list].sort((a, b) => b.info.priority - a.info.priority || (a.info.name < b.info.name ? 1 : a.info.name > b.info.name ? -1 : 0));
}
