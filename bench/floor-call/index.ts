/**
 * The true floor of `npm run bench -- engine` for this design, in one process: an external JS plugin that makes
 * exactly ai-proxy-advanced's RPC calls for a buffered chat request (get_headers, get_raw_body(limit),
 * get_path_with_query, then kong.response.exit: HandleEvent plus three Steps; with the log phase declared, Kong's
 * log event too) AND the provider call itself, with undici's dispatch API on a shared keep-alive Agent as
 * engine/upstream.ts makes it, but no work of its own: the client's raw body goes to `config.url` as it came, and
 * the provider's raw bytes go back through the exit (no parsing, no translation, no analytics).
 * bench/floor-answer plus undici alone measured in another process (bench/lib/engine-alone.ts) adds two figures
 * taken under different wake-up patterns; this plugin server pays, in one process, for the RPC and the provider
 * call together, including the extra wake-up when the provider answers while Kong waits.
 * Same two switches as bench/floor-answer: the log phase is declared unless AI_PROXY_ADVANCED_LOG_PHASE is off,
 * and `config.serialize` (the bench's log_statistics) adds one kong.log.set_serialize_value before the exit.
 */
import { Agent } from 'undici';
import { FLOOR_BLOCK, FLOOR_PHASES, readLikeAiProxyAdvanced, type FloorKong } from '../lib/floor-kong';
import { providerDispatch } from '../lib/provider-dispatch';

/** One Agent for the process, as engine/upstream.ts keeps one per connect timeout. */
const agent = new Agent({ keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000 });

interface Answer {
  status: number;
  body: Buffer;
}

/** The provider call with the raw body: the bytes collected from undici's parser, no Readable. */
async function call(origin: string, path: string, body: Buffer): Promise<Answer> {
  const chunks: Buffer[] = [];
  const status = await providerDispatch(agent, origin, path, body, (chunk) => chunks.push(chunk));
  return { status, body: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks) };
}

export class Plugin {
  private readonly origin: string;
  private readonly path: string;

  constructor(private readonly config: { url: string; serialize?: boolean }) {
    const u = new URL(config.url);
    this.origin = u.origin;
    this.path = u.pathname + u.search;
  }

  async access(kong: FloorKong): Promise<void> {
    const raw = await readLikeAiProxyAdvanced(kong);
    const body = Buffer.isBuffer(raw) ? raw : Buffer.from(String(raw ?? ''), 'latin1');
    const answer = await call(this.origin, this.path, body);
    if (this.config.serialize) await kong.log.setSerializeValue('ai.proxy', FLOOR_BLOCK);
    await kong.response.exit(answer.status, answer.body, { 'content-type': 'application/json' });
  }

  log(): void {
    // Answered with no PDK call, as ai-proxy-advanced answers a log event with no stream waiting.
  }
}

export const Phases = FLOOR_PHASES;
export const Name = 'floor-call';
export const Version = '0.1.0';
export const Priority = 770;
export const Schema = [{ url: { type: 'string', required: true } }, { serialize: { type: 'boolean', default: false } }];
