/**
 * Masking: what approvers, pages, logs and the ledger see of a request (issue 5, point 4).
 *
 * Two mechanisms, both pure: configured paths (`mask: [parameters.*.password]`) replace every value at or under the
 * path, and built-in detectors replace secrets found inside any string, object keys included, while keeping the
 * surrounding text. A detector replaces the secret itself and nothing else (the password, not the SQL after it;
 * the key material, not the command's flags after the key), and every replacement says what it hid and how long it
 * was: `[masked: connection_string_password, 7 chars]`. Detectors are regex-based and deliberately conservative:
 * each documents the near misses it must leave alone, because masking an order id or a commit SHA would make the
 * review page useless. Callers hash the UNMASKED parameters (receipt.ts `parametersHash`) so the receipt still
 * binds the exact payload.
 */
import { canonicalText, keyParts } from './text';
import * as z from './zod';

export const DETECTOR_NAMES = [
  'private_key',
  'jwt',
  'connection_string_password',
  'aws_access_key_id',
  'aws_secret_access_key',
  'bearer_token',
  'card_number',
] as const;
export type DetectorName = (typeof DETECTOR_NAMES)[number];

/** Why something was masked: a configured path (`path`) or the detector that found it. */
export type MaskReason = 'path' | DetectorName;

/** Length in characters (code points), as a reader counts them. */
function characters(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/**
 * What a masked value (or a masked part of a string, or of a key) becomes: `[masked: <reason>, <n> chars]`, the
 * reason being the detector's name or `configured path`, and n the length of what was hidden, in characters.
 */
export function maskMarker(reason: MaskReason, length: number): string {
  return `[masked: ${reason === 'path' ? 'configured path' : reason}, ${length} char${length === 1 ? '' : 's'}]`;
}

/** Matches one marker: `[masked: jwt, 151 chars]`. */
export const MASK_MARKER = /\[masked: (?:configured path|[a-z_]+), \d+ chars?\]/;

// ---------------------------------------------------------------------------------------------------------------
// Paths

/** Top-level request fields a mask path may start with, and the second segments each allows. */
const ROOTS: Readonly<Record<string, { readonly maxSegments: number; readonly children?: readonly string[] }>> = {
  parameters: { maxSegments: 16 },
  // Plain strings: a deeper path could never match, so it is a config error rather than a silent no-op.
  justification: { maxSegments: 1 },
  resource: { maxSegments: 1 },
  agent: { maxSegments: 2, children: ['name', 'model', 'runId', '*'] },
};
const SEGMENT = /^(?:[A-Za-z0-9_-]+|\*)$/;
const MAX_PATH_SEGMENTS = 16;

/** Paths to mask: dotted, `*` matches one segment (an object key or an array index), e.g. `parameters.*.password`, `parameters.db.connection`. */
export const maskPathSchema: z.ZodMiniType<string> = z.string().check(
  z.maxLength(1024),
  z.superRefine((path, ctx) => {
    const segments = path.split('.');
    const bad = segments.find((segment) => !SEGMENT.test(segment));
    if (bad !== undefined) {
      ctx.addIssue({ code: 'custom', message: `segment "${bad}" must be * or letters, digits, _ and -` });
      return;
    }
    if (segments.length > MAX_PATH_SEGMENTS) {
      ctx.addIssue({ code: 'custom', message: `at most ${MAX_PATH_SEGMENTS} segments` });
      return;
    }
    const root = Object.hasOwn(ROOTS, segments[0]!) ? ROOTS[segments[0]!] : undefined;
    if (!root) {
      ctx.addIssue({ code: 'custom', message: `must start with one of ${Object.keys(ROOTS).join(', ')}` });
      return;
    }
    if (segments.length > root.maxSegments) {
      ctx.addIssue({ code: 'custom', message: `${segments[0]} has no fields below ${segments.slice(0, root.maxSegments).join('.')}` });
      return;
    }
    const child = segments[1];
    if (child !== undefined && root.children && !root.children.includes(child)) {
      ctx.addIssue({ code: 'custom', message: `${segments[0]}.${child} cannot exist; expected one of ${root.children.join(', ')}` });
    }
  }),
);

// ---------------------------------------------------------------------------------------------------------------
// Detectors

interface Span {
  readonly start: number;
  readonly end: number;
}
interface ScanContext {
  /** Name of the object key holding the string (for arrays, the key holding the array). */
  readonly key?: string;
}
type Detector = (text: string, context: ScanContext) => Span[];

function allMatches(re: RegExp, text: string): RegExpExecArray[] {
  return [...text.matchAll(re)];
}

/**
 * PEM / PGP private key blocks (RSA, EC, DSA, OPENSSH, ENCRYPTED, plain PKCS#8, PGP ... BLOCK): the key material
 * is masked, and only it. The BEGIN and END lines stay so a reader knows a key was there, and so do armor headers
 * (`Proc-Type:`, `DEK-Info:`, PGP's `Version:`), which hold no secret. Line breaks may be real or written out as
 * `\n` (a key pasted into a shell or JSON string).
 * - A complete block (BEGIN, then base64 lines, then the matching END) has all of its body masked, whatever its
 *   layout (a key flattened to one line with spaces is still a key), when each token but the last is a key line
 *   (below): SQL reads `-----BEGIN …-----` as a comment, so a statement between the lines must stay visible.
 * - Anything else (no END line: a truncated key, or other text before the END) masks only the lines it can prove
 *   are key material: one base64 token per line, each of 16+ characters holding a digit, `+` or `/` (or 32+
 *   characters), and a PGP checksum line. The run stops at the first line that is not one, at a blank line and at
 *   the end of a line holding more than the token, so the flags of a command after a key, or after a BEGIN line
 *   with no key, stay visible. A short last line of a truncated key may stay visible: a few characters of half a key.
 * Public keys and certificates are not secrets and do not match.
 */
const PEM_BEGIN = /-----BEGIN ((?:[A-Z0-9]+ ){0,4}PRIVATE KEY(?: BLOCK)?)-----/g;
/** A line break in a key: a real one, or one written out as `\n` / `\r\n`. */
const PEM_BREAK = String.raw`(?:\r?\n|\\r\\n|\\n)`;
/** White space in a complete block, written-out breaks included. */
const PEM_SPACE = String.raw`(?:\s|\\[rn])`;
const B64 = '[A-Za-z0-9+/=]';
const ARMOR_HEADERS = new RegExp(String.raw`[ \t]*${PEM_BREAK}(?:[A-Za-z][A-Za-z0-9-]*:[ \t][^\r\n\\]*${PEM_BREAK})+[ \t]*${PEM_BREAK}`, 'y');
/** The first key line: on the BEGIN line after spaces, or on the next line. */
const KEY_FIRST_LINE = new RegExp(String.raw`[ \t]*(?:${PEM_BREAK}[ \t]*)?([A-Za-z0-9+/]+={0,2})(?![A-Za-z0-9+/=])`, 'y');
const KEY_NEXT_LINE = new RegExp(String.raw`[ \t]*${PEM_BREAK}[ \t]*([A-Za-z0-9+/]+={0,2}|=[A-Za-z0-9+/]{4})(?![A-Za-z0-9+/=])`, 'y');
/** What ends a key line: a line break (the run may go on), or the end of the text. */
const KEY_LINE_END = new RegExp(String.raw`[ \t]*(?:${PEM_BREAK}|$)`, 'y');
/** A complete block's pattern per label; labels are the agent's words, so the cache is kept small. */
const completeBlocks = new Map<string, RegExp>();
function completeBlock(label: string): RegExp {
  let re = completeBlocks.get(label);
  if (!re) {
    re = new RegExp(`${PEM_SPACE}*(${B64}+(?:${PEM_SPACE}+${B64}+)*)${PEM_SPACE}*-----END ${label}-----`, 'yd');
    if (completeBlocks.size >= 32) completeBlocks.clear();
    completeBlocks.set(label, re);
  }
  return re;
}
function isKeyLine(token: string): boolean {
  if (/^=[A-Za-z0-9+/]{4}$/.test(token)) return true; // a PGP armor checksum
  return token.length >= 32 || (token.length >= 16 && /[0-9+/]/.test(token));
}
/**
 * A complete block's body is key material when it is base64 tokens and each but the last is a key line (the last
 * line of a key may be short; a lone token must be a key line). So `-----BEGIN PRIVATE KEY-----\nDROP TABLE
 * users\n-----END PRIVATE KEY-----`, which SQL reads as two comments around a statement, is not a key.
 */
function isKeyBody(body: string): boolean {
  const tokens = body.split(new RegExp(`${PEM_SPACE}+`));
  if (!tokens.every((token) => /^(?:[A-Za-z0-9+/]+={0,2}|=[A-Za-z0-9+/]{4})$/.test(token))) return false;
  return tokens.length === 1 ? isKeyLine(tokens[0]!) : tokens.slice(0, -1).every(isKeyLine);
}
function sticky(re: RegExp, text: string, at: number): RegExpExecArray | null {
  re.lastIndex = at;
  return re.exec(text);
}
const privateKey: Detector = (text) => {
  const spans: Span[] = [];
  for (const begin of text.matchAll(PEM_BEGIN)) {
    let at = begin.index + begin[0].length;
    const headers = sticky(ARMOR_HEADERS, text, at);
    if (headers) at += headers[0].length;
    const complete = sticky(completeBlock(begin[1]!), text, at);
    if (complete && isKeyBody(complete[1]!)) {
      const [start, end] = complete.indices![1]!;
      spans.push({ start, end });
      continue;
    }
    // Not a complete block: the key lines it can prove, one token a line.
    let line = sticky(KEY_FIRST_LINE, text, at);
    let start = -1;
    let end = -1;
    while (line && isKeyLine(line[1]!)) {
      const tokenEnd = line.index + line[0].length;
      if (start < 0) start = tokenEnd - line[1]!.length;
      end = tokenEnd;
      if (!sticky(KEY_LINE_END, text, tokenEnd) || line[1]!.startsWith('=')) break;
      line = sticky(KEY_NEXT_LINE, text, tokenEnd);
    }
    if (start >= 0) spans.push({ start, end });
  }
  return spans;
};

/**
 * JWTs (JWS, 3 segments) and JWEs (5 segments): base64url segments whose first decodes to a JSON object with a
 * string `alg`, so dotted identifiers (`file.tar.gz`, `com.example.app`) never match. The signature may be empty
 * (`alg: none`): an unsigned token can still be a credential. When a candidate fails, the scan restarts at its
 * next segment so `prefix.<jwt>` is still found.
 */
const JWT_CANDIDATE = /(?<![A-Za-z0-9_-])([A-Za-z0-9_-]{8,})\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]*)(?:\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+))?/g;
function jwtHeader(segment: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed) && typeof (parsed as { alg?: unknown }).alg === 'string') {
      return parsed as Record<string, unknown>;
    }
  } catch {
    // not JSON: not a JWT
  }
  return undefined;
}
const jwt: Detector = (text) => {
  const spans: Span[] = [];
  const re = new RegExp(JWT_CANDIDATE.source, 'g');
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const header = jwtHeader(m[1]!);
    if (!header) {
      re.lastIndex = m.index + m[1]!.length + 1;
      continue;
    }
    // Five segments only for an encrypted token; otherwise the tail is unrelated dotted text.
    const isJwe = m[4] !== undefined && typeof header.enc === 'string';
    const length = isJwe ? m[0].length : m[1]!.length + m[2]!.length + m[3]!.length + 2;
    spans.push({ start: m.index, end: m.index + length });
    re.lastIndex = m.index + length;
  }
  return spans;
};

/**
 * Passwords in connection strings, the password only:
 * - URL userinfo `scheme://user:password@host` (user may be empty, as in `redis://:pw@host`). `/ ? #` end the
 *   password as they do for a URL parser, so `https://host:8443/a?to=x@y` (a port, then an email) is left alone,
 *   and, as for a URL parser, the userinfo runs to the last `@` before the host: `u:p@ss@w0rd@host` masks `p@ss@w0rd`.
 * - `password=` / `pwd=` / `passwd=` pairs (`;Password=x;`, `?user=u&password=x`, `WHERE pwd = x`). A braced or
 *   quoted value has what is inside its braces or quotes masked; an unquoted one is one token, up to the next
 *   white space, `;` or `&`, so `WHERE pwd = x OR TRUE` masks `x` and shows `OR TRUE`. Only inside a
 *   `key=value;` list (ODBC/ADO: the key follows a `;`, or starts the text or a quoted string and another
 *   `key=` follows its `;`) does an unquoted value run to the `;` through spaces (`Password=my pass;`), as those
 *   parsers read it. Keys merely containing the word (`password_reset=`) do not match.
 */
const URL_PASSWORD = /\b[A-Za-z][A-Za-z0-9+.-]{0,31}:\/\/[^\s:/?#]{0,1024}:([^\s/?#]{1,1024})@/g;
const KV_KEY = /(?<![A-Za-z0-9])(?:password|passwd|pwd)[ \t]*=[ \t]*/gi;
const KV_QUOTED = /\{([^}\r\n]*)\}|"([^"\r\n]*)"|'([^'\r\n]*)'/y;
const KV_LIST_VALUE = /[^;&\s]+(?:[ \t]+[^;&\s=]+)*(?=[ \t]*;)/y;
const KV_TOKEN = /[^;&\s]+/y;
const KV_NEXT_KEY = /[ \t]*;[ \t]*[A-Za-z][A-Za-z0-9 _]{0,63}=/y;
/** The character before `at` that is not a space or tab ('' at the start of the text). */
function previousMark(text: string, at: number): string {
  let i = at - 1;
  while (i >= 0 && (text[i] === ' ' || text[i] === '\t')) i--;
  return i < 0 ? '' : text[i]!;
}
const connectionStringPassword: Detector = (text) => {
  const spans: Span[] = allMatches(URL_PASSWORD, text).map((m) => {
    const start = m.index + m[0].length - 1 - m[1]!.length;
    return { start, end: start + m[1]!.length };
  });
  for (const m of text.matchAll(KV_KEY)) {
    const at = m.index + m[0].length;
    const quoted = sticky(KV_QUOTED, text, at);
    if (quoted) {
      const inner = quoted[1] ?? quoted[2] ?? quoted[3] ?? '';
      if (inner) spans.push({ start: at + 1, end: at + 1 + inner.length });
      continue;
    }
    const before = previousMark(text, m.index);
    const list = before === ';' || before === '' || before === '"' || before === "'" ? sticky(KV_LIST_VALUE, text, at) : null;
    if (list && (before === ';' || sticky(KV_NEXT_KEY, text, at + list[0].length))) {
      spans.push({ start: at, end: at + list[0].length });
      continue;
    }
    const token = sticky(KV_TOKEN, text, at);
    if (token) spans.push({ start: at, end: at + token[0].length });
  }
  return spans;
};

/** AWS access key ids: the documented prefixes plus 16 upper-case alphanumerics, as a whole word. */
const ACCESS_KEY_ID = /\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b/g;
const awsAccessKeyId: Detector = (text) => allMatches(ACCESS_KEY_ID, text).map((m) => ({ start: m.index, end: m.index + m[0].length }));

/**
 * AWS secret access keys: exactly 40 base64 characters (a longer run is something else; `=` may end the run as
 * padding would but not start it, so `key=<secret>` is found) and only with context:
 * the value sits under a key named like `secret` (`secretAccessKey`, `aws_secret`), the string also holds an access
 * key id, or `secret` appears within the 64 characters before it (`aws_secret_access_key=`). Even then an all-hex
 * token is left alone (a git SHA-1 is 40 hex characters; a real key is hex by chance with negligible probability)
 * and the token must mix upper and lower case, as random base64 does, which spares 40-character words and ids.
 */
const SECRET_CANDIDATE = /(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])/g;
const SECRET_WORD = /secret/i;
const awsSecretAccessKey: Detector = (text, context) => {
  const keyHint = context.key !== undefined && SECRET_WORD.test(context.key);
  const hasKeyId = new RegExp(ACCESS_KEY_ID.source).test(text);
  return allMatches(SECRET_CANDIDATE, text)
    .filter((m) => {
      const token = m[0];
      if (/^[0-9a-fA-F]+$/.test(token) || !/[A-Z]/.test(token) || !/[a-z]/.test(token)) return false;
      return keyHint || hasKeyId || SECRET_WORD.test(text.slice(Math.max(0, m.index - 64), m.index));
    })
    .map((m) => ({ start: m.index, end: m.index + m[0].length }));
};

/**
 * Bearer tokens: `Bearer <b64token>` (RFC 6750 characters, any case); the token is masked and `Bearer` kept. To
 * spare prose ("the bearer of bad news", "bearer instruments") the token needs 8+ characters including a digit or
 * symbol, or 20+ characters. Trailing dots are sentence punctuation, not token.
 */
const BEARER = /(?<![A-Za-z0-9_])bearer[ \t]+([A-Za-z0-9\-._~+/]+=*)/gi;
const bearerToken: Detector = (text) =>
  allMatches(BEARER, text).flatMap((m) => {
    const token = m[1]!.replace(/\.+$/, '');
    const plausible = token.length >= 20 || (token.length >= 8 && /[0-9\-._~+/=]/.test(token));
    if (!plausible) return [];
    const start = m.index + m[0].length - m[1]!.length;
    return [{ start, end: start + token.length }];
  });

/**
 * Card numbers: 13–19 digits passing Luhn, contiguous or in groups split by one kind of single separator
 * (space or dash) with a 4-digit first group and 3–6 digit groups after it (4-4-4-4, Amex 4-6-5, 4-4-4-4-3).
 * Conservative on purpose: the first digit must be a card network's (2–6: Mastercard, Amex/Diners/JCB, Visa,
 * Maestro/Mastercard, Discover/UnionPay), so epoch-ms timestamps (1…), phone numbers with a trunk 0 and most order
 * ids are spared; runs glued to letters, `_`, `+` (phones) or a decimal point are not candidates; a run of one
 * repeated digit is a placeholder. A run of digits holding several numbers (`4111… 4012…`) is tried group by group.
 */
const DIGIT_RUN = /\d(?:[ -]?\d)*/g;
function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}
/** Network prefix, not a placeholder like 0000…, and Luhn; lengths and grouping are checked by the caller. */
function isCardDigits(digits: string): boolean {
  return digits.length >= 13 && digits.length <= 19 && /^[2-6]/.test(digits) && !/^(\d)\1*$/.test(digits) && luhn(digits);
}
const cardNumber: Detector = (text) => {
  const spans: Span[] = [];
  for (const m of text.matchAll(DIGIT_RUN)) {
    const before = text[m.index - 1] ?? '';
    const after = text.slice(m.index + m[0].length, m.index + m[0].length + 2);
    if (/[A-Za-z_+.]/.test(before) || /^[A-Za-z_]/.test(after) || /^[.,]\d/.test(after)) continue;
    // Split the run into its groups and try windows of consecutive groups, leftmost-longest first. Each window
    // grows by one group, so the work stays linear in the run (at most 19 digits per window).
    const groups: { text: string; start: number; separator: string }[] = [];
    for (const g of m[0].matchAll(/\d+/g)) groups.push({ text: g[0], start: m.index + g.index, separator: m[0][g.index - 1] ?? '' });
    for (let i = 0; i < groups.length; ) {
      let matchedEnd = -1;
      let digits = '';
      for (let j = i; j < groups.length; j++) {
        const group = groups[j]!;
        if (j > i) {
          // Grouped: a 4-digit first group, then 3-6 digit groups, one kind of separator.
          if (groups[i]!.text.length !== 4 || group.text.length < 3 || group.text.length > 6) break;
          if (j > i + 1 && group.separator !== groups[i + 1]!.separator) break;
        }
        digits += group.text;
        if (digits.length > 19) break;
        if (isCardDigits(digits)) matchedEnd = j;
      }
      if (matchedEnd < 0) {
        i++;
        continue;
      }
      const last = groups[matchedEnd]!;
      spans.push({ start: groups[i]!.start, end: last.start + last.text.length });
      i = matchedEnd + 1;
    }
  }
  return spans;
};

/** In priority order: a later detector's match inside an earlier one's is not reported (a JWT after `Bearer` is a `jwt`). */
const DETECTORS: readonly (readonly [DetectorName, Detector])[] = [
  ['private_key', privateKey],
  ['jwt', jwt],
  ['connection_string_password', connectionStringPassword],
  ['aws_access_key_id', awsAccessKeyId],
  ['aws_secret_access_key', awsSecretAccessKey],
  ['bearer_token', bearerToken],
  ['card_number', cardNumber],
];

function scan(text: string, context: ScanContext): { text: string; found: DetectorName[] } {
  // Sorted, non-overlapping. Each detector's spans are merged against it in one pass: strings can hold thousands.
  let claimed: (Span & { detector: DetectorName })[] = [];
  for (const [name, detect] of DETECTORS) {
    const spans = detect(text, context).sort((a, b) => a.start - b.start);
    const accepted: (Span & { detector: DetectorName })[] = [];
    let p = 0;
    let lastEnd = -1;
    for (const span of spans) {
      if (span.end <= span.start || span.start < lastEnd) continue;
      while (p < claimed.length && claimed[p]!.end <= span.start) p++;
      if (p < claimed.length && claimed[p]!.start < span.end) continue;
      accepted.push({ ...span, detector: name });
      lastEnd = span.end;
    }
    if (accepted.length > 0) claimed = [...claimed, ...accepted].sort((a, b) => a.start - b.start);
  }
  if (claimed.length === 0) return { text, found: [] };
  const parts: string[] = [];
  let at = 0;
  for (const span of claimed) {
    parts.push(text.slice(at, span.start), maskMarker(span.detector, characters(text.slice(span.start, span.end))));
    at = span.end;
  }
  parts.push(text.slice(at));
  const names = new Set(claimed.map((c) => c.detector));
  return { text: parts.join(''), found: DETECTOR_NAMES.filter((name) => names.has(name)) };
}

/**
 * Masks secrets inside one string (detectors only), keeping the surrounding text:
 * "postgres://u:hunter2@h/db" -> "postgres://u:[masked: connection_string_password, 7 chars]@h/db".
 */
export function maskSecrets(text: string): { text: string; found: DetectorName[] } {
  return scan(text, {});
}

// ---------------------------------------------------------------------------------------------------------------
// Requests

export interface MaskOptions {
  /** Validated with {@link maskPathSchema}; an invalid path throws rather than silently masking nothing. */
  readonly paths?: readonly string[];
}
export interface MaskEntry {
  /**
   * Dotted path of the replaced value; array elements by index (`parameters.users.0.token`); `''` for a root
   * string. A masked key appears in its masked form, never as it was.
   */
  readonly path: string;
  readonly reason: MaskReason;
  /** The object key at `path` was masked (rather than, or as well as, its value). */
  readonly key?: true;
}
export interface MaskResult<T> {
  /** T's shape; masked leaves are {@link maskMarker} strings, whatever their type was. */
  readonly value: T;
  readonly masked: ReadonlyArray<MaskEntry>;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** A leaf masked whole, as text, for its length: a PIN 1234 is 4 characters, a date its ISO form. */
function leafText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? String(value) : value.toISOString();
  return String(value);
}

/**
 * Masks a request-shaped value: every value at a listed path (and every value under it, if it is an object/array)
 * and every secret any detector finds in any string value or object key, recursively. Never mutates its input.
 * `null`/`undefined` at a masked path stay as they are: there is nothing to hide and a marker would claim a value
 * exists. Non-JSON objects (Date, Map, ...) are returned as they are unless under a masked path.
 *
 * Keys: a key holding a secret (`{"AKIA…": 1}`, `{"password=hunter2": true}`) is masked like a value, with the
 * parent's key as context. Configured paths match keys as policy reads them (see `walk`). Masked keys stay unique: one that
 * would equal another key gets ` (2)`, ` (3)`, ... so no value is dropped or overwritten.
 */
export function maskRequest<T>(value: T, options: MaskOptions = {}): MaskResult<T> {
  const patterns = (options.paths ?? []).map((path) => {
    const parsed = maskPathSchema.safeParse(path);
    if (!parsed.success) throw new TypeError(`invalid mask path "${path}": ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    return path.split('.');
  });
  const masked: MaskEntry[] = [];
  const seen = new Set<string>();
  const record = (path: readonly string[], reason: MaskReason, key = false) => {
    const joined = path.join('.');
    const id = `${reason}\u0000${key}\u0000${joined}`;
    if (seen.has(id)) return;
    seen.add(id);
    masked.push(key ? { path: joined, reason, key: true } : { path: joined, reason });
  };
  // JSON cannot be cyclic, but a caller's object can; recursion would never end.
  const ancestors = new Set<object>();
  const descend = <R>(node: object, fn: () => R): R => {
    if (ancestors.has(node)) throw new TypeError('cannot mask a cyclic value');
    ancestors.add(node);
    try {
      return fn();
    } finally {
      ancestors.delete(node);
    }
  };

  /**
   * Each key of `node` and how it is shown: masked where a detector finds a secret in it, kept otherwise. Kept
   * keys are claimed first, so a masked key never takes the name of one the agent wrote.
   */
  const keysOf = (node: Record<string, unknown>, path: readonly string[], hint: string | undefined): Array<readonly [string, string]> => {
    const keys = Object.keys(node);
    const scanned = keys.map((key) => scan(key, hint === undefined ? {} : { key: hint }));
    const used = new Set(keys.filter((_, i) => scanned[i]!.found.length === 0));
    return keys.map((key, i) => {
      const { text, found } = scanned[i]!;
      if (found.length === 0) return [key, key] as const;
      let shown = text;
      for (let n = 2; used.has(shown); n++) shown = `${text} (${n})`;
      used.add(shown);
      for (const name of found) record([...path, shown], name, true);
      return [key, shown] as const;
    });
  };

  const maskAll = (node: unknown, path: readonly string[], hint: string | undefined): unknown => {
    if (node === null || node === undefined) return node;
    if (Array.isArray(node)) return descend(node, () => node.map((child, i) => maskAll(child, [...path, String(i)], hint)));
    if (isPlainObject(node)) {
      return descend(node, () => Object.fromEntries(keysOf(node, path, hint).map(([key, shown]) => [shown, maskAll(node[key], [...path, shown], key)])));
    }
    // Strings, numbers (a PIN), booleans, bigints, dates: all leave as a marker.
    record(path, 'path');
    return maskMarker('path', characters(leafText(node)));
  };

  /**
   * `cursors` are, for each path pattern still matching, how many of its segments are consumed. Keys match as policy
   * reads them (canonical text; a key with dots names the keys it spells), and a list is looked through as well as
   * indexed, so a value policy reads at a path is masked at it whatever its spelling: masking more, never less.
   */
  const walk = (node: unknown, path: readonly string[], cursors: readonly (readonly [string[], number])[], key: string | undefined): unknown => {
    /** `matchKey` is the key as written, `pathKey` as shown, `hintKey` the context for detectors. */
    const child = (value: unknown, matchKey: string, pathKey: string, hintKey: string | undefined, inList = false): unknown => {
      // A key may stand for one segment (`*`, or the key itself) and, holding dots, for the several it spells: both count.
      const parts = cursors.length > 0 ? keyParts(matchKey) : [];
      const fits = (segments: readonly string[], at: number, n: number) =>
        parts.length === n &&
        parts.every((part, j) => segments[at + j] !== undefined && (segments[at + j] === '*' || canonicalText(segments[at + j]!) === part));
      const next = [
        ...cursors.flatMap(([segments, at]) => [
          ...(segments[at] === '*' || segments[at] === matchKey || fits(segments, at, 1) ? [[segments, at + 1] as const] : []),
          ...(parts.length > 1 && fits(segments, at, parts.length) ? [[segments, at + parts.length] as const] : []),
        ]),
        ...(inList ? cursors : []),
      ];
      const childPath = [...path, pathKey];
      if (next.some(([segments, at]) => at === segments.length)) return maskAll(value, childPath, hintKey);
      return walk(value, childPath, next, hintKey);
    };
    if (typeof node === 'string') {
      const result = scan(node, key === undefined ? {} : { key });
      for (const name of result.found) record(path, name);
      return result.text;
    }
    // Array elements keep the array's key as context (`secrets: [...]`).
    if (Array.isArray(node)) return descend(node, () => node.map((value, i) => child(value, String(i), String(i), key, true)));
    if (isPlainObject(node)) {
      // Object.fromEntries defines own properties, so a `__proto__` key from JSON stays data instead of a prototype.
      return descend(node, () =>
        Object.fromEntries(keysOf(node, path, key).map(([childKey, shown]) => [shown, child(node[childKey], childKey, shown, childKey)])),
      );
    }
    return node;
  };

  const result = walk(
    value,
    [],
    patterns.map((segments) => [segments, 0] as const),
    undefined,
  ) as T;
  return { value: result, masked };
}

/** The distinct paths a result masked, in the order they were found. */
export function maskedPaths(result: Pick<MaskResult<unknown>, 'masked'>): string[] {
  return [...new Set(result.masked.map((entry) => entry.path))];
}
