/**
 * The floor of `npm run bench -- stream`: the least an external JS plugin can do to route a request, served by
 * the same plugin-server runtime through the same gateway. Its access phase makes one PDK call,
 * `kong.service.set_target(host, port)` (HandleEvent, then Step with the call's result, then "ret": two RPC
 * round trips), and Kong then proxies straight to the target. Whatever ai-proxy-advanced adds over this is
 * its own work (reading the request, get_service, set_path, the stream endpoint's hop).
 */
interface FloorConfig {
  host: string;
  port: number;
}

interface FloorKong {
  service: { setTarget(host: string, port: number): Promise<void> };
}

export class Plugin {
  constructor(private readonly config: FloorConfig) {}

  async access(kong: FloorKong): Promise<void> {
    await kong.service.setTarget(this.config.host, this.config.port);
  }
}

export const Name = 'floor-upstream';
export const Version = '0.1.0';
export const Priority = 770;
export const Schema = [{ host: { type: 'string', required: true } }, { port: { type: 'integer', required: true } }];
