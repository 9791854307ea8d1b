/**
 * What a plugin needs done before its plugin server exits: work the RPC drain cannot see (an HTTP response the
 * plugin serves itself, such as ai-proxy-advanced's stream endpoint) and buffers to flush (a log sink).
 *
 * On SIGTERM the server (listener.ts close()) waits, within its drain deadline, until no RPC, no event and no
 * hook reports work in flight (`busy()`), then calls every hook's `close(waitMs)` and waits for them, bounded by
 * what is left of the deadline, before it exits.
 *
 * The registry lives on globalThis under a Symbol.for key, so a plugin that carries its own copy of this module
 * registers with the server all the same; under a server that knows nothing of it (kong-pdk's), the hooks are
 * simply never called.
 */

export interface ShutdownHook {
  /** Names the hook in shutdown warnings. */
  readonly name: string;
  /** Work in flight the drain must wait for (0 when idle). */
  busy?(): number;
  /** Flushes and releases; should give up after `waitMs` (the caller stops waiting then). */
  close?(waitMs: number): Promise<void>;
}

const KEY = Symbol.for('ai-proxy-advanced.pluginserver.shutdown-hooks');

function registry(): Set<ShutdownHook> {
  const g = globalThis as unknown as Record<symbol, Set<ShutdownHook> | undefined>;
  let hooks = g[KEY];
  if (!hooks) {
    hooks = new Set();
    g[KEY] = hooks;
  }
  return hooks;
}

/** Registers a hook; returns its removal. */
export function onShutdown(hook: ShutdownHook): () => void {
  const hooks = registry();
  hooks.add(hook);
  return () => hooks.delete(hook);
}

/** Work in flight over every hook; a hook that throws counts as idle (it must never hold shutdown forever). */
export function hooksBusy(): number {
  let n = 0;
  for (const h of registry()) {
    try {
      n += h.busy ? Math.max(0, Number(h.busy()) || 0) : 0;
    } catch {
      /* idle */
    }
  }
  return n;
}

/** Closes every hook, waiting at most `waitMs` for all of them; returns the names of those that did not finish. */
export async function closeHooks(waitMs: number): Promise<string[]> {
  const late = new Set<string>();
  const hooks = [...registry()].filter((h) => h.close);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((r) => {
    timer = setTimeout(r, Math.max(0, waitMs));
    timer.unref();
  });
  for (const h of hooks) late.add(h.name);
  await Promise.race([
    Promise.all(
      hooks.map(async (h) => {
        try {
          await h.close?.(waitMs);
        } catch {
          /* a failing close is still finished */
        }
        late.delete(h.name);
      }),
    ),
    deadline,
  ]);
  clearTimeout(timer);
  return [...late];
}
