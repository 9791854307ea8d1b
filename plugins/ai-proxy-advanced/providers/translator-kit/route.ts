import { UnsupportedFeatureError } from '../../errors';
import type { TranslateContext } from '../provider';

export function unsupportedRoute(provider: string, ctx: TranslateContext, detail = ''): UnsupportedFeatureError {
  return new UnsupportedFeatureError(`route_type '${ctx.routeType}' is not supported for provider '${provider}'${detail ? ` (${detail})` : ''}`);
}
