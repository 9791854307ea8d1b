/**
 * decK's environment placeholders: decK renders a state file as a Go template before parsing it, with an `env`
 * function that only reads variables prefixed `DECK_` and fails when one is unset
 * (decK file/reader: "environment variable 'DECK_X' present in state file but not set"). `toBool`, `toInt`
 * and `toFloat` pipes turn the value into an unquoted YAML scalar, as decK's template functions do.
 */
export class DeckEnvError extends Error {
  override name = 'DeckEnvError';
}

const PLACEHOLDER = /\$\{\{\s*env\s+"([^"]*)"\s*(?:\|\s*(toBool|toInt|toFloat)\s*)?\}\}/g;

export function substituteDeckEnv(text: string, env: NodeJS.ProcessEnv): string {
  return text.replace(PLACEHOLDER, (_m, name: string, pipe: string | undefined) => {
    if (!name.startsWith('DECK_')) {
      throw new DeckEnvError(`environment variables in the state file must be prefixed with 'DECK_', found: '${name}'`);
    }
    const value = env[name];
    if (value === undefined) throw new DeckEnvError(`environment variable '${name}' present in state file but not set`);
    if (pipe === 'toBool') {
      if (!/^(true|false|1|0|t|f|TRUE|FALSE|True|False)$/.test(value))
        throw new DeckEnvError(`environment variable '${name}': '${value}' is not a boolean`);
      return /^(true|1|t|TRUE|True)$/.test(value) ? 'true' : 'false';
    }
    if (pipe === 'toInt' || pipe === 'toFloat') {
      const n = Number(value);
      if (value.trim() === '' || !Number.isFinite(n) || (pipe === 'toInt' && !Number.isInteger(n)))
        throw new DeckEnvError(`environment variable '${name}': '${value}' is not ${pipe === 'toInt' ? 'an integer' : 'a number'}`);
      return String(n);
    }
    return value;
  });
}
