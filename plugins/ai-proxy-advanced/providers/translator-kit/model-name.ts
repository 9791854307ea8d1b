/**
 * What a model name taken from the client (a template value, or the model a native request names in its path)
 * may hold. Drivers put the name in URL paths percent-encoded as one segment (Gemini, Bedrock) or split on `/`
 * (Hugging Face `org/name`): `\`, `?`, `#` and `%` have no business in a model id, and a `.` or `..` segment is
 * left alone by encodeURIComponent and would be resolved by URL parsing, moving the upstream path.
 */
export function modelNameProblem(v: string): string | undefined {
  if (/[\\?#%]/.test(v) || v.split('/').some((s) => s === '.' || s === '..')) {
    return "a model name may not contain '\\', '?', '#', '%' or '.' / '..' path segments";
  }
  return undefined;
}
