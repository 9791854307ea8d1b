/**
 * The text a stream generated, tallied as it arrives so that its memory does not grow with the answer: the
 * counts the usage estimates need (usage-estimate.ts estimateCompletionTokens, translator-kit countWords) are kept
 * as running totals, and the text itself only up to MAX_KEPT_TEXT characters, for `log_payloads`. Keeping all of
 * it let a provider that streams without end (or without usage) grow the plugin server's memory without bound.
 */

/** Characters of generated text kept for the payload log; far above any model's output limit. */
export const MAX_KEPT_TEXT = 4 * 1024 * 1024;

/** Space, or \t \n \v \f \r (bytes 9 to 13): what Kong's strip removes (usage-estimate.ts estimateCompletionTokens). */
function isAsciiSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

const WORD = /\S+/g;
const SPACE = /\s/;

export class StreamedText {
  private readonly kept: string[] = [];
  private keptLength = 0;
  /** UTF-8 bytes of all the text. */
  private bytes = 0;
  /** UTF-8 bytes of ASCII whitespace before the first other character (all of it while there is none). */
  private leading = 0;
  private sawNonSpace = false;
  /** UTF-8 bytes (= characters: ASCII) of the ASCII whitespace run at the end. */
  private trailing = 0;
  private words = 0;
  /** Whether the text so far ends inside a word (`\S`), so that a word split over two pieces counts once. */
  private inWord = false;

  push(s: string): void {
    if (s === '') return;
    const n = Buffer.byteLength(s, 'utf8');
    this.bytes += n;
    if (this.keptLength < MAX_KEPT_TEXT) {
      const room = MAX_KEPT_TEXT - this.keptLength;
      // Cut at the bound, a character outside the BMP would leave half of its surrogate pair in the log.
      const cut = s.length <= room ? s.length : /[\ud800-\udbff]/.test(s.charAt(room - 1)) ? room - 1 : room;
      this.kept.push(cut === s.length ? s : s.slice(0, cut));
      // Once cut, nothing more is kept (the next piece could otherwise start with the pair's other half).
      this.keptLength = cut === s.length ? this.keptLength + cut : MAX_KEPT_TEXT;
    }
    // ASCII whitespace at both ends, in bytes (each is one byte).
    let end = s.length;
    while (end > 0 && isAsciiSpace(s.charCodeAt(end - 1))) end--;
    if (end === 0) {
      this.trailing += s.length;
      if (!this.sawNonSpace) this.leading += s.length;
    } else {
      if (!this.sawNonSpace) {
        let start = 0;
        while (isAsciiSpace(s.charCodeAt(start))) start++;
        this.leading += start;
        this.sawNonSpace = true;
      }
      this.trailing = s.length - end;
    }
    // Words: runs of \S; one that starts this piece continues the last piece's when that ended inside a word.
    const runs = s.match(WORD)?.length ?? 0;
    this.words += runs > 0 && this.inWord && !SPACE.test(s.charAt(0)) ? runs - 1 : runs;
    this.inWord = !SPACE.test(s.charAt(s.length - 1));
  }

  /** The text, up to MAX_KEPT_TEXT characters. */
  text(): string {
    return this.kept.length === 1 ? (this.kept[0] as string) : this.kept.join('');
  }

  /** Kong's completion estimate over all the text: bytes without ASCII whitespace at both ends, over 4, rounded up. */
  completionTokensEstimate(): number {
    return this.sawNonSpace ? Math.ceil((this.bytes - this.leading - this.trailing) / 4) : 0;
  }

  /** countWords over all the text. */
  wordCount(): number {
    return this.words;
  }
}
