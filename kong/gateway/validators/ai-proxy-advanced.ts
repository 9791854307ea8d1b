/**
 * The ai-proxy-advanced config validator (schemas/, ajv + Kong's cross-field rules) plugged into the gateway's
 * extra-validator hook. A JS plugin's Kong schema array cannot carry Lua entity_checks or custom validators
 * (kong-plugin-protocol.md §1.4), so without this the Admin API and declarative loading would accept configs
 * Kong Enterprise refuses, and the plugin would only complain at request time.
 *
 * Errors are shaped as Kong's schema-violation `fields` tree: nested records by field name, array elements
 * at their position, record-level messages under `@entity` (kong/db/schema/init.lua).
 */
import { pluginName } from '../../../plugins/ai-proxy-advanced/name';
import { validateDetailed } from '../../../schemas/validate';
import type { ExtraValidator } from '../plugin-catalog';
import type { ErrorTree } from '../schema/kong-schema';

type Tree = { [field: string]: ErrorTree };

function place(root: Tree, segments: ReadonlyArray<string | number>, message: string): void {
  let node: Tree | ErrorTree[] = root;
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i] as string | number;
    const last = i === segments.length - 1;
    const nextIsIndex = typeof segments[i + 1] === 'number';
    const slot = (Array.isArray(node) ? node[seg as number] : node[seg as string]) as ErrorTree | undefined | null;
    if (last) {
      if (slot === undefined || slot === null) set(node, seg, message);
      else if (typeof slot === 'object' && !Array.isArray(slot)) addEntity(slot, message);
      return; // a leaf already holding a message keeps its first one, as Kong reports one error per field
    }
    if (typeof slot === 'string') return; // the field itself is already wrong; its children add nothing
    if (slot === undefined || slot === null) {
      const child: Tree | ErrorTree[] = nextIsIndex ? [] : {};
      set(node, seg, child);
      node = child;
    } else {
      node = slot as Tree | ErrorTree[];
    }
  }
  addEntity(node as Tree, message);
}

function set(node: Tree | ErrorTree[], seg: string | number, value: ErrorTree): void {
  if (Array.isArray(node)) {
    while (node.length < (seg as number)) node.push(null as unknown as ErrorTree);
    node[seg as number] = value;
  } else {
    node[String(seg)] = value;
  }
}

function addEntity(node: Tree, message: string): void {
  const list = (node['@entity'] as ErrorTree[] | undefined) ?? [];
  list.push(message);
  node['@entity'] = list;
}

export const aiProxyAdvancedValidator: ExtraValidator = (config) => {
  const r = validateDetailed(config);
  if (r.ok) return undefined;
  const tree: Tree = {};
  for (const e of r.errors) place(tree, e.segments, e.message);
  return tree;
};

/** The validators the gateway installs by default, keyed by the plugin's registered name. */
export function defaultExtraValidators(env: NodeJS.ProcessEnv = process.env): Map<string, ExtraValidator> {
  return new Map([[pluginName(env), aiProxyAdvancedValidator]]);
}
