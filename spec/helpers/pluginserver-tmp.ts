/** Temporary directories and socket paths for the plugin-server tests (unix socket paths must stay short). */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface TmpDir {
  dir: string;
  sock(name?: string): string;
  cleanup(): void;
}

export function makeTmpDir(prefix = 'aipa-ps-'): TmpDir {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  return {
    dir,
    sock: (name = 'js_pluginserver.sock') => path.join(dir, name),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
