/**
 * Untrusted text, in one place: which characters are hidden (they change how text reads, or what it is, without
 * being seen), how every surface marks them, and the canonical form policy and identities compare.
 */

/**
 * Hidden characters: C0 and C1 controls (tab and newline are kept apart by the surfaces that show them), format
 * characters (bidi embeddings, overrides, isolates and marks as in Trojan Source; zero-width spaces and joiners; the
 * word joiner and invisible operators; the BOM; tag characters that smuggle ASCII), line and paragraph separators,
 * every default-ignorable code point (soft hyphen, combining grapheme joiner, variation selectors, Hangul fillers,
 * Khmer and Mongolian invisible vowels and selectors, and the ranges Unicode keeps invisible for the future),
 * unassigned code points, which no font shows, and unpaired surrogates, which are no character at all.
 */
const HIDDEN_SOURCE = String.raw`[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}\p{Cn}]`;

/**
 * What builds an emoji rather than hiding text, shown as is: a zero-width joiner between two pictographs (a family, a
 * profession), and a variation selector right after a pictograph or a keycap's digit (❤️, 1️⃣).
 */
const EMOJI_JOINER = String.raw`(?<=\p{Extended_Pictographic}[\uFE0F\u{1F3FB}-\u{1F3FF}]?)\u200D(?=\p{Extended_Pictographic})`;
const EMOJI_PRESENTATION = String.raw`(?:(?<=\p{Extended_Pictographic})[\uFE0E\uFE0F]|(?<=[#*0-9])\uFE0F(?=\u20E3))`;

const HIDDEN_TO_MARK = new RegExp(`(?!${EMOJI_JOINER})(?!${EMOJI_PRESENTATION})(?!\\t|\\n)${HIDDEN_SOURCE}`, 'gu');
const HIDDEN_ANY = new RegExp(HIDDEN_SOURCE, 'u');
const HIDDEN_ALL = new RegExp(HIDDEN_SOURCE, 'gu');

/** `U+202E`, the name every surface shows a hidden character by. */
export function codePointName(c: string): string {
  return `U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * Replaces each hidden character (all but tab, newline and an emoji's joiner) by what `render` makes of its code point
 * name. Every surface calls this: the review page wraps the name in a marked span, Slack, Teams, email and the
 * terminal write `[U+202E]`. Escape the text for the surface first, then mark it (the marker is the surface's own).
 */
export function markHidden(text: string, render: (name: string) => string = (name) => `[${name}]`): string {
  return text.replace(HIDDEN_TO_MARK, (c) => render(codePointName(c)));
}

/** Whether `text` holds any hidden character (tab and newline included): identities may hold none. */
export function hasHiddenCharacters(text: string): boolean {
  return HIDDEN_ANY.test(text);
}

/**
 * The form policy compares text in: Unicode compatibility forms folded (NFKC: full-width letters, ligatures,
 * superscripts), hidden characters removed, runs of white space made one space, trimmed, and lower-cased. Two
 * spellings with the same canonical form are the same value to every rule.
 */
export function canonicalText(text: string): string {
  return text.normalize('NFKC').replace(HIDDEN_ALL, '').replace(/\s+/gu, ' ').trim().toLowerCase().normalize('NFKC');
}

/** The keys a parameter key names as policy reads it: canonical, and split at dots (`{"DB.Host": x}` is `db`, `host`). */
export function keyParts(key: string): string[] {
  return key.normalize('NFKC').split('.').map(canonicalText);
}

/**
 * Writing systems, for telling a word in one apart from a word mixing several. Han, Hiragana and Katakana are one
 * (Japanese mixes them); a letter in none of these counts as its own.
 */
const SCRIPTS = [
  /\p{Script=Latin}/u,
  /\p{Script=Cyrillic}/u,
  /\p{Script=Greek}/u,
  /\p{Script=Armenian}/u,
  /\p{Script=Cherokee}/u,
  /\p{Script=Coptic}/u,
  /\p{Script=Lisu}/u,
  /\p{Script=Georgian}/u,
  /\p{Script=Arabic}/u,
  /\p{Script=Hebrew}/u,
  /\p{Script=Devanagari}/u,
  /\p{Script=Thai}/u,
  /\p{Script=Hangul}/u,
  /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]/u,
];
const ASCII_LETTER = /[a-z]/i;

/** Which of SCRIPTS a letter is in; -1 for another script. */
const scriptOf = (letter: string) => SCRIPTS.findIndex((script) => script.test(letter));

/**
 * The first word (a run of letters and marks, after NFKC) that could pass for another, if any; such text is refused
 * where policy compares it or names someone by it. NFKC folds full-width and styled letters but not look-alikes:
 * - a word mixing scripts: `рroduction` (a Cyrillic `р`), `alꓲce` (a Lisu letter);
 * - a word of ASCII letters with a letter that is no accented ASCII one: `productıon` (dotless ı), `ᴄsv` (a small
 *   capital), `ɑlice` (IPA); accented letters (`café`, `naïve`) are fine;
 * - a word of ASCII letters carrying a mark that composes with none of them: `producti̇on` (`İ` lower-cased),
 *   `alice̶` (an overlay).
 * A word wholly in another script (`отчёт`) is not suspect.
 */
export function lookAlikeWord(text: string): string | undefined {
  for (const word of text.normalize('NFKC').match(/[\p{L}\p{M}]+/gu) ?? []) {
    const letters = [...word].filter((c) => /\p{L}/u.test(c));
    if (new Set(letters.map(scriptOf)).size > 1) return word;
    if (!ASCII_LETTER.test(word)) continue;
    if (/\p{M}/u.test(word)) return word;
    if (letters.some((c) => !ASCII_LETTER.test(c.normalize('NFD').replace(/\p{M}/gu, '')))) return word;
  }
  return undefined;
}
