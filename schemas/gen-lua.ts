/** Writes schemas/schema.lua from the definition (see lua.ts). Run from the repo root after `npm run build`. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { toLua } from './lua';

const target = path.join(__dirname, '..', '..', 'schemas', 'schema.lua');
writeFileSync(target, toLua());
console.log(`wrote ${path.relative(process.cwd(), target)}`);
