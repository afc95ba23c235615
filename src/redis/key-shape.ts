/**
 * The shape of a family of Redis keys, as text a reader and code both read: `cs:sent:<enrollment id>`,
 * `<queue>:<job id>`. Segments are separated by `:`; each is a literal or one named part. A part
 * takes one segment, but the last part may take the rest of the key, `:` included, when its name
 * ends in `…` (`cs:admin-login-failures:<source address…>`: an IPv6 address has colons).
 */

/** What a named part may hold, beyond "any non-empty text". For a part taking the rest, the rule is about its first segment (which may be empty: `::1`). */
export interface PartRule {
  /** Only these values. */
  oneOf?: readonly string[];
  /** Never these values. */
  not?: readonly string[];
}

type Segment = { literal: string } | { part: string; rest: boolean; rule: PartRule };

const PART = /^<([^<>…]+)(…?)>$/;

function fits(rule: PartRule, value: string): boolean {
  return (!rule.oneOf || rule.oneOf.includes(value)) && !rule.not?.includes(value);
}

function accepts(rule: PartRule, value: string): boolean {
  return value !== '' && fits(rule, value);
}

/** Whether some one segment fits both. */
function meet(a: Segment, b: Segment): boolean {
  if ('literal' in a && 'literal' in b) return a.literal === b.literal;
  if ('literal' in a) return accepts((b as { rule: PartRule }).rule, a.literal);
  if ('literal' in b) return accepts(a.rule, b.literal);
  if (a.rule.oneOf && b.rule.oneOf) return a.rule.oneOf.some((v) => accepts(b.rule, v) && accepts(a.rule, v));
  if (a.rule.oneOf) return a.rule.oneOf.some((v) => accepts(b.rule, v));
  if (b.rule.oneOf) return b.rule.oneOf.some((v) => accepts(a.rule, v));
  return true; // two parts bounded only by exclusions: some text is neither
}

const takesRest = (s: Segment | undefined) => !!s && 'part' in s && s.rest;

/** A key shape, parsed: matches keys (after the prefix) and tells whether it could match a key another shape matches. */
export class KeyShape {
  private readonly segments: Segment[];

  /** `rules`: every part name the shape may use, with what it may hold; an unknown name is refused. */
  constructor(
    readonly text: string,
    rules: Record<string, PartRule>,
  ) {
    this.segments = text.split(':').map((s, i, all) => {
      const m = PART.exec(s);
      if (!m) {
        if (!s || /[<>…]/.test(s)) throw new Error(`key shape "${text}": "${s}" is neither a literal nor a <part>`);
        return { literal: s };
      }
      const rule = rules[m[1]!];
      if (!rule) throw new Error(`key shape "${text}": no part is called <${m[1]}>`);
      if (m[2] && i !== all.length - 1)
        throw new Error(`key shape "${text}": only the last part may take the rest (<${m[1]}…>)`);
      return { part: m[1]!, rest: !!m[2], rule };
    });
  }

  /** The literal head (`cs:sent` of `cs:sent:<enrollment id>`), empty when the shape starts with a part. */
  get head(): string {
    const literals: string[] = [];
    for (const s of this.segments) {
      if (!('literal' in s)) break;
      literals.push(s.literal);
    }
    return literals.join(':');
  }

  /** The names of its parts, in order. */
  get parts(): string[] {
    return this.segments.flatMap((s) => ('part' in s ? [s.part] : []));
  }

  /** The parts of `key` (the text after the prefix and its `:`) by name, or undefined when it is not of this shape. */
  match(key: string): Record<string, string> | undefined {
    const given = key.split(':');
    const n = this.segments.length;
    const rest = takesRest(this.segments[n - 1]);
    if (rest ? given.length < n : given.length !== n) return undefined;
    const parts: Record<string, string> = {};
    for (let i = 0; i < n; i++) {
      const s = this.segments[i]!;
      if ('literal' in s) {
        if (given[i] !== s.literal) return undefined;
        continue;
      }
      if (s.rest) {
        // The rest, colons included (an IPv6 address, `::1`, starts with an empty segment).
        const rest = given.slice(i).join(':');
        if (!rest || !fits(s.rule, given[i]!)) return undefined;
        parts[s.part] = rest;
      } else {
        if (!accepts(s.rule, given[i]!)) return undefined;
        parts[s.part] = given[i]!;
      }
    }
    return parts;
  }

  /** Whether some key has both shapes. */
  overlaps(other: KeyShape): boolean {
    const a = this.segments;
    const b = other.segments;
    for (let i = 0; ; i++) {
      if (i === a.length || i === b.length) return a.length === b.length;
      if (!meet(a[i]!, b[i]!)) return false;
      // A part taking the rest takes whatever the other shape has from here on.
      if (takesRest(a[i]) || takesRest(b[i])) return true;
    }
  }
}
