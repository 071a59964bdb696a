/**
 * Untrusted text, in one place: which characters are hidden (they change how text reads, or what it is, without
 * being seen), how every surface marks them, and the canonical form policy and identities compare.
 */

/**
 * Hidden characters: C0 and C1 controls (tab and newline are kept apart by the surfaces that show them), format
 * characters (bidi embeddings, overrides, isolates and marks as in Trojan Source; zero-width spaces and joiners; the
 * word joiner and invisible operators; the BOM; soft hyphen; tag characters that smuggle ASCII), line and paragraph
 * separators, the combining grapheme joiner, Hangul fillers and the variation selectors supplement.
 */
const HIDDEN_SOURCE = String.raw`[\p{Cc}\p{Cf}\u2028\u2029\u034F\u115F\u1160\u3164\uFFA0\u{E0100}-\u{E01EF}]`;

/**
 * A zero-width joiner between two pictographs builds one emoji (a family, a profession) and cannot reorder or hide
 * text; it is the only hidden character shown as is.
 */
const EMOJI_JOINER = String.raw`(?<=\p{Extended_Pictographic}[\uFE0F\u{1F3FB}-\u{1F3FF}]?)\u200D(?=\p{Extended_Pictographic})`;

const HIDDEN_TO_MARK = new RegExp(`(?!${EMOJI_JOINER})(?!\\t|\\n)${HIDDEN_SOURCE}`, 'gu');
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

/** Scripts whose letters pass for Latin ones (Cyrillic `о`, Greek `ο`, Armenian `օ`, Cherokee `Ꭺ`). */
const LOOK_ALIKE_SCRIPTS = [/\p{Script=Cyrillic}/u, /\p{Script=Greek}/u, /\p{Script=Armenian}/u, /\p{Script=Cherokee}/u];
const LATIN = /\p{Script=Latin}/u;

/**
 * The first word (a run of letters) that mixes Latin letters with look-alike letters of another script, as
 * `рroduction` (a Cyrillic `р`) does, if any. NFKC leaves such a word as it is, so it would pass for another
 * value; a word wholly in one script (`отчёт`) is not mixed.
 */
export function mixedScriptWord(text: string): string | undefined {
  for (const word of text.normalize('NFKC').match(/[\p{L}\p{M}]+/gu) ?? []) {
    if (LATIN.test(word) && LOOK_ALIKE_SCRIPTS.some((script) => script.test(word))) return word;
  }
  return undefined;
}
