/**
 * Small kong-pdk plugins written as plain CommonJS .js files into a temp plugins directory at test time, so
 * stock kong-js-pluginserver and ours load exactly the same code.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * `conform`: its access phase runs the scenario named by the `x-scenario` request header, each exercising one
 * part of the protocol. `close()` leaves a marker file so a test can see whether the server called it.
 */
export const CONFORM_PLUGIN = String.raw`'use strict';
const fs = require('fs');
const path = require('path');

class Plugin {
  constructor(config) {
    this.config = config;
  }

  async access(kong) {
    const scenario = await kong.request.getHeader('x-scenario');
    switch (scenario) {
      case 'basic': {
        const host = await kong.request.getHeader('host');
        // Parallel PDK calls are queued and answered one at a time, in call order.
        const [p, m] = await Promise.all([kong.request.getPath(), kong.request.getMethod()]);
        await kong.response.setHeader('x-hello', this.config.message + ' ' + host + ' ' + p + ' ' + m);
        await kong.ctx.shared.set('seen', { host, n: [1, 2, 3] });
        return;
      }
      case 'exit':
        await kong.response.exit(403, JSON.stringify({ message: 'denied' }), { 'content-type': 'application/json' });
        return;
      case 'error':
        await kong.response.error(503, 'try later');
        return;
      case 'step-error':
        try {
          await kong.request.getHeader('x-fails');
        } catch (e) {
          await kong.log.err(e.message + ' [' + e.name + ']');
        }
        return;
      case 'throw':
        await kong.log.info('about to throw');
        throw new Error('kaput');
      case 'multimap': {
        const h = await kong.request.getHeaders();
        const q = await kong.request.getQuery();
        const body = await kong.request.getRawBody();
        await kong.response.setHeader('x-seen',
          JSON.stringify(h) + ' ' + JSON.stringify(q) + ' ' + Buffer.isBuffer(body) + ' ' + body.toString('hex'));
        return;
      }
      case 'big-body': {
        // A large body each way: in as bin (Step), out as a str in the exit reply.
        const body = await kong.request.getRawBody();
        const sha = require('crypto').createHash('sha256').update(body).digest('hex');
        await kong.response.exit(200, body.toString('base64'), { 'x-sha256': sha });
        return;
      }
      case 'slow':
        await new Promise((r) => setTimeout(r, 20));
        await kong.response.setHeader('x-slow', 'done');
        return;
      default:
        await kong.log.warn('unknown scenario ' + scenario);
    }
  }

  async response(kong) {
    await kong.response.setHeader('x-response', 'yes');
  }

  async log(kong) {
    await kong.log.info(await kong.log.serialize());
  }

  close() {
    fs.writeFileSync(path.join(__dirname, '..', 'closed-' + this.config.tag), 'closed');
  }
}

module.exports = {
  Plugin,
  Name: 'Conform',
  Version: '1.2.3',
  Priority: 1000,
  Schema: [{ message: { type: 'string', required: true, default: 'hi' } }, { tag: { type: 'string' } }],
};
`;

/** `exiter`: the trivial plugin of the leak measurement: `kong.response.exit` in access, then return. */
export const EXITER_PLUGIN = String.raw`'use strict';
class Plugin {
  async access(kong) {
    await kong.response.exit(200, 'ok');
  }
}
module.exports = { Plugin, Version: '0.1.0', Priority: 10 };
`;

/** `three-steps`: HandleEvent + 3 Steps per request, the benchmark's unit of work. */
export const THREE_STEPS_PLUGIN = String.raw`'use strict';
class Plugin {
  async access(kong) {
    const host = await kong.request.getHeader('host');
    const path = await kong.request.getPath();
    await kong.response.setHeader('x-route', host + path);
  }
}
module.exports = { Plugin, Version: '0.1.0', Priority: 10 };
`;

/** `body-reader`: reads the raw request body (a Buffer over the wire) and reports its length. */
export const BODY_READER_PLUGIN = String.raw`'use strict';
class Plugin {
  async access(kong) {
    const body = await kong.request.getRawBody();
    await kong.response.setHeader('x-body-length', String(body.length));
  }
}
module.exports = { Plugin, Version: '0.1.0', Priority: 10 };
`;

export function writePlugins(dir: string, files: Record<string, string>): string {
  mkdirSync(dir, { recursive: true });
  for (const [name, src] of Object.entries(files)) {
    const file = path.join(dir, name);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, src);
  }
  return dir;
}
