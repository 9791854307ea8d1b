/**
 * Kong's typedefs.url check (kong/db/schema/typedefs.lua validate_url, which parses with LuaSocket's url
 * module): a URL needs an authority (`//host`) and a scheme. Same messages, same order.
 */
const HAS_HOST = /^(?:[A-Za-z][A-Za-z0-9+.-]*:)?\/\/[^/?#]/;
const HAS_SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;

/** Undefined when `url` is acceptable, else Kong's error text. */
export function urlProblem(url: string): string | undefined {
  if (!HAS_HOST.test(url)) return 'missing host in url';
  if (!HAS_SCHEME.test(url)) return 'missing scheme in url';
  return undefined;
}
