/**
 * Writes schemas/schema.lua from the definition (see lua.ts). Run from the repo root after `npm run build`:
 *   node dist/schemas/gen-lua.js                                   # the committed file
 *   node dist/schemas/gen-lua.js --name ai-proxy-advanced-js --out /tmp/schema.lua
 * Konnect and Kong Enterprise bundle their own `ai-proxy-advanced`, so a custom upload there needs the name
 * the plugin server runs under (AI_PROXY_ADVANCED_PLUGIN_NAME).
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { toLua } from './lua';
import { PLUGIN_CONFIG } from './definition';

const args = process.argv.slice(2);
const opt = (flag: string) => {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
};
const name = opt('--name') ?? 'ai-proxy-advanced';
const target = opt('--out') ?? path.join(__dirname, '..', '..', 'schemas', 'schema.lua');
writeFileSync(target, toLua(PLUGIN_CONFIG, name));
console.log(`wrote ${path.relative(process.cwd(), target) || target} (plugin name ${name})`);
