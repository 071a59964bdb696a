/**
 * The JSONPath subset ASL definitions use (and CDK emits): `$` or `$$` (the context object) followed by dotted
 * or bracketed member names and array indices. Wildcards, filters and slices are rejected when the definition is
 * created, so a path that validated always evaluates without surprises.
 */

export type PathSegment = string | number;

export interface ParsedPath {
  /** `$$...`: evaluated against the context object instead of the state's data. */
  readonly context: boolean;
  readonly segments: readonly PathSegment[];
}

export class PathSyntaxError extends Error {}

/** Parses `text`, throwing a PathSyntaxError that says what is wrong or unsupported. */
export function parsePath(text: string): ParsedPath {
  let i: number;
  let context = false;
  if (text.startsWith('$$')) {
    context = true;
    i = 2;
  } else if (text.startsWith('$')) {
    i = 1;
  } else {
    throw new PathSyntaxError(`"${text}" is not a JSONPath (it must start with "$")`);
  }
  const segments: PathSegment[] = [];
  while (i < text.length) {
    const ch = text[i];
    if (ch === '.') {
      let j = i + 1;
      while (j < text.length && text[j] !== '.' && text[j] !== '[') j++;
      const name = text.slice(i + 1, j);
      if (name === '') throw new PathSyntaxError(`"${text}" has an empty member name at offset ${i}`);
      if (name === '*' || name.startsWith('.')) throw new PathSyntaxError(`"${text}": wildcards and deep scans are not supported`);
      segments.push(name);
      i = j;
    } else if (ch === '[') {
      const q = text[i + 1];
      if (q === "'" || q === '"') {
        let j = i + 2;
        let name = '';
        while (j < text.length && text[j] !== q) {
          if (text[j] === '\\' && j + 1 < text.length) j++;
          name += text[j];
          j++;
        }
        if (text[j] !== q || text[j + 1] !== ']') throw new PathSyntaxError(`"${text}" has an unterminated [${q}...${q}] member`);
        segments.push(name);
        i = j + 2;
      } else {
        const m = /^\[(\d+)\]/.exec(text.slice(i));
        if (!m) throw new PathSyntaxError(`"${text}": only member names and non-negative array indices are supported in brackets`);
        segments.push(Number(m[1]));
        i += m[0].length;
      }
    } else {
      throw new PathSyntaxError(`"${text}" has an unexpected character "${ch}" at offset ${i}`);
    }
  }
  return { context, segments };
}

export type Lookup = { found: true; value: unknown } | { found: false };

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function lookup(root: unknown, segments: readonly PathSegment[]): Lookup {
  let cur: unknown = root;
  for (const seg of segments) {
    if (typeof seg === 'number') {
      if (!Array.isArray(cur) || seg >= cur.length) return { found: false };
      cur = cur[seg];
    } else {
      if (!isObject(cur) || !Object.hasOwn(cur, seg)) return { found: false };
      cur = cur[seg];
    }
  }
  return { found: true, value: cur };
}

/** Returns a copy of `root` with `value` placed at `segments`, creating missing objects on the way (ResultPath rules). */
export function assign(root: unknown, segments: readonly PathSegment[], value: unknown): unknown {
  if (segments.length === 0) return value;
  const [head, ...rest] = segments as [PathSegment, ...PathSegment[]];
  if (typeof head === 'number') {
    if (!Array.isArray(root) || head >= root.length) throw new PathSyntaxError(`index [${head}] does not exist`);
    const copy = root.slice();
    copy[head] = assign(copy[head], rest, value);
    return copy;
  }
  if (!isObject(root)) throw new PathSyntaxError(`cannot set member "${head}" on a non-object value`);
  const child = Object.hasOwn(root, head) ? root[head] : rest.length > 0 && typeof rest[0] === 'string' ? {} : undefined;
  return { ...root, [head]: assign(child, rest, value) };
}
