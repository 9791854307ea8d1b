/**
 * The text a semantic pick embeds: the `content` of the LAST message with role `user` (semantic-routing.md §5),
 * text parts joined with a newline. Bad input answers Kong's 400s with Kong's texts.
 */
import { InvalidRequestError } from '../errors';

/** Longest prompt text embedded; longer text is cut (providers cap input tokens anyway, and it bounds the hash work). */
export const MAX_PROMPT_CHARS = 32_768;

export function lastUserText(body: Record<string, unknown>): string {
  const messages = body['messages'];
  if (!Array.isArray(messages)) throw new InvalidRequestError('this LLM route only supports chat requests');
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i] as { role?: unknown; content?: unknown } | null;
    if (!m || typeof m !== 'object' || m.role !== 'user') continue;
    const text = contentText(m.content);
    return text.length > MAX_PROMPT_CHARS ? text.slice(0, MAX_PROMPT_CHARS) : text;
  }
  throw new InvalidRequestError('no user message found in the request');
}

function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    const parts: string[] = [];
    for (const p of content) {
      const part = p as { type?: unknown; text?: unknown } | null;
      if (part && typeof part === 'object' && part.type === 'text' && typeof part.text === 'string') parts.push(part.text);
    }
    if (parts.length > 0) return parts.join('\n');
  }
  throw new InvalidRequestError('the last user message has no text content to match against target descriptions');
}
