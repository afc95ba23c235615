/**
 * A small JSON reader that remembers the line of every value and keeps every key of an object in
 * order, repeats included: `JSON.parse` silently keeps the last of two equal keys, and says where
 * a syntax error is only by offset. What a person edits (the contact mapping file) needs both.
 */

export type JsonNode =
  | { kind: 'object'; line: number; entries: { key: string; line: number; value: JsonNode }[] }
  | { kind: 'array'; line: number; items: JsonNode[] }
  | { kind: 'string'; line: number; value: string }
  | { kind: 'number'; line: number; value: number }
  | { kind: 'boolean'; line: number; value: boolean }
  | { kind: 'null'; line: number };

/** Malformed JSON, with the line it was found on. */
export class JsonLineError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
    this.name = 'JsonLineError';
  }
}

/** Parses `text` into JsonNodes (RFC 8259 syntax; a byte-order mark is skipped). */
export function parseJsonLines(text: string): JsonNode {
  let at = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  const fail = (what: string): never => {
    throw new JsonLineError(
      line,
      at >= text.length ? `unexpected end of the file, ${what}` : `unexpected ${JSON.stringify(text[at])}, ${what}`,
    );
  };
  const space = () => {
    while (at < text.length && ' \t\r\n'.includes(text[at]!)) if (text[at++] === '\n') line++;
  };
  const string = (): string => {
    const start = at;
    at++;
    while (at < text.length && text[at] !== '"') {
      if (text[at] === '\n') fail('a string may not span lines');
      at += text[at] === '\\' ? 2 : 1;
    }
    if (at >= text.length) fail('a string is not closed');
    at++;
    try {
      return JSON.parse(text.slice(start, at)) as string;
    } catch {
      return fail('a string has a bad escape');
    }
  };
  const value = (): JsonNode => {
    space();
    const here = line;
    const c = text[at];
    if (c === '{') {
      at++;
      const entries: { key: string; line: number; value: JsonNode }[] = [];
      space();
      if (text[at] === '}') return (at++, { kind: 'object', line: here, entries });
      for (;;) {
        space();
        if (text[at] !== '"') fail('expected a "quoted" key');
        const keyLine = line;
        const key = string();
        space();
        if (text[at] !== ':') fail('expected ":" after a key');
        at++;
        entries.push({ key, line: keyLine, value: value() });
        space();
        if (text[at] === ',') at++;
        else if (text[at] === '}') return (at++, { kind: 'object', line: here, entries });
        else fail('expected "," or "}"');
      }
    }
    if (c === '[') {
      at++;
      const items: JsonNode[] = [];
      space();
      if (text[at] === ']') return (at++, { kind: 'array', line: here, items });
      for (;;) {
        items.push(value());
        space();
        if (text[at] === ',') at++;
        else if (text[at] === ']') return (at++, { kind: 'array', line: here, items });
        else fail('expected "," or "]"');
      }
    }
    if (c === '"') return { kind: 'string', line: here, value: string() };
    for (const [word, node] of [
      ['true', { kind: 'boolean', value: true }],
      ['false', { kind: 'boolean', value: false }],
      ['null', { kind: 'null' }],
    ] as const) {
      if (text.startsWith(word, at)) return ((at += word.length), { ...node, line: here });
    }
    const num = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(at, at + 64));
    if (num) return ((at += num[0].length), { kind: 'number', line: here, value: Number(num[0]) });
    return fail('expected a value');
  };
  const root = value();
  space();
  if (at < text.length) fail('expected the end of the file');
  return root;
}
