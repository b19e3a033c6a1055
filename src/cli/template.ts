/**
 * The subset of Go's text/template that `docker inspect -f` and `docker ps --format` users
 * type, run on JSON values. It has field paths (`.State.Status`), `$`, string, number and
 * boolean literals, pipelines (`.Config.Env | json`), parentheses, `if`/`with`/`range` with
 * `else`, `end`, and `{{-`/`-}}` trimming. Its functions are Docker's (json, join, split,
 * lower, upper, title, pad, truncate) and Go's index, len, print, println, printf, eq, ne,
 * not, and, or. Values print as Go's fmt prints the decoded JSON: lists as `[a b]`, objects as
 * `map[k:v]` with sorted keys. No npm package implements this faithfully (the Go-template
 * ones lack literals, `json` and missing-key errors), so noah carries its own.
 * Variables are declared with `:=` in an action or in `range $key, $value := ...`.
 * NOTE: assignment with `=`, `define`, `template`, `block`, `break` and `continue` are not
 * supported and fail to parse.
 */

/** A template that failed to parse: Docker prints these as "template parsing error". */
export class TemplateParseError extends Error {
  constructor(line: number, message: string) {
    super(`template: :${line}: ${message}`);
    this.name = 'TemplateParseError';
  }
}

/** A template that failed while it ran, such as a field the data does not have. */
export class TemplateExecError extends Error {
  constructor(position: string, context: string, message: string) {
    super(`template: :${position}: executing "" at <${context}>: ${message}`);
    this.name = 'TemplateExecError';
  }
}

type Value = unknown;
type TemplateFunction = (...args: Value[]) => Value;

interface Operand {
  kind: 'field' | 'dot' | 'variable' | 'literal' | 'function' | 'pipeline';
  offset: number; // byte offset in the template text, for error positions
  source: string; // the text of the operand, for error context
  path?: string[]; // field names after `.`, a variable or a parenthesized pipeline
  value?: Value; // a literal's value
  name?: string; // a function's name, or a variable's with its `$`
  pipeline?: Pipeline; // a parenthesized pipeline
}

/** Commands separated by `|`, each a list of operands, and the variables they declare. */
interface Pipeline {
  declarations: Operand[];
  commands: Operand[][];
}

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'action'; pipeline: Pipeline }
  | { kind: 'if' | 'with' | 'range'; pipeline: Pipeline; body: Node[]; otherwise: Node[] };

/** Docker's functions and the Go builtins that noah implements, by name. */
const functions: Record<string, TemplateFunction> = {
  json: (value) => JSON.stringify(value ?? null),
  join: (list, separator) => asList(list, 'join').map(formatValue).join(String(separator)),
  split: (text, separator) => String(text).split(String(separator)),
  lower: (text) => String(text).toLowerCase(),
  upper: (text) => String(text).toUpperCase(),
  title: (text) =>
    String(text).replace(/(^|[^A-Za-z0-9_'])([a-z])/g, (_, a, b) => a + b.toUpperCase()),
  pad: (text, before, after) =>
    text === '' ? '' : ' '.repeat(Number(before)) + String(text) + ' '.repeat(Number(after)),
  truncate: (text, length) => String(text).slice(0, Number(length)),
  index: indexValue,
  len: (value) => {
    if (typeof value === 'string' || Array.isArray(value)) return value.length;
    if (isObject(value)) return Object.keys(value).length;
    throw new Error(`len of ${typeName(value)}`);
  },
  print: (...args) => args.map(formatValue).join(''),
  println: (...args) => args.map(formatValue).join(' ') + '\n',
  printf: (format, ...args) => printf(String(format), args),
  eq: (first, ...others) => others.some((other) => first === other),
  ne: (first, second) => first !== second,
  not: (value) => !truthy(value),
  and: (...args) => args.find((arg) => !truthy(arg)) ?? args[args.length - 1],
  or: (...args) => args.find((arg) => truthy(arg)) ?? args[args.length - 1],
};

/**
 * The functions Docker uses when it renders a table's header row: they return the column's
 * header unchanged, so `{{json .Names}}` heads its column with NAMES.
 */
const headerFunctions: Record<string, TemplateFunction> = {
  ...functions,
  json: (value) => value,
  join: (value) => value,
  split: (value) => value,
  lower: (value) => value,
  upper: (value) => value,
  title: (value) => value,
  truncate: (value) => value,
};

/** A parsed template, run with `execute` on a JSON value. */
export class Template {
  private constructor(
    private readonly text: string,
    private readonly nodes: Node[],
  ) {}

  /** Parses `text`, throwing TemplateParseError on a syntax error or an unknown function. */
  static parse(text: string): Template {
    return new Template(text, new Parser(text).parseAll());
  }

  /** Runs the template on `data`. A field that `data` lacks throws TemplateExecError. */
  execute(data: Value): string {
    return new Executor(this.text, data, functions, true).run(this.nodes, data);
  }

  /**
   * Runs the template on a table's header row, where each field is a column name and a
   * field that `headers` lacks prints nothing.
   */
  executeHeader(headers: Record<string, string>): string {
    return new Executor(this.text, headers, headerFunctions, false).run(this.nodes, headers);
  }
}

function isObject(value: Value): value is Record<string, Value> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asList(value: Value, name: string): Value[] {
  if (Array.isArray(value)) return value;
  throw new Error(`${name} needs a list, not ${typeName(value)}`);
}

/** Names the Go type that decoding JSON gives `value`, as Go's errors spell it. */
function typeName(value: Value): string {
  if (value === null || value === undefined) return 'nil';
  if (Array.isArray(value)) return '[]interface {}';
  if (isObject(value)) return 'map[string]interface {}';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float64';
  return typeof value === 'boolean' ? 'bool' : 'string';
}

/** Formats `value` as Go's fmt.Print prints it. */
export function formatValue(value: Value): string {
  if (value === null || value === undefined) return '<nil>';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `[${value.map(formatValue).join(' ')}]`;
  if (isObject(value)) {
    const keys = Object.keys(value).sort();
    return `map[${keys.map((key) => `${key}:${formatValue(value[key])}`).join(' ')}]`;
  }
  return String(value);
}

/** Tests `value` as Go's `if` and `with` do: true unless empty, zero, false or nil. */
function truthy(value: Value): boolean {
  if (value === null || value === undefined || value === false || value === 0 || value === '')
    return false;
  if (Array.isArray(value)) return value.length > 0;
  if (isObject(value)) return Object.keys(value).length > 0;
  return true;
}

function indexValue(container: Value, ...keys: Value[]): Value {
  let value = container;
  for (const key of keys) {
    if (Array.isArray(value) || typeof value === 'string') {
      const position = Number(key);
      if (!Number.isInteger(position) || position < 0 || position >= value.length) {
        throw new Error(`index out of range: ${formatValue(key)}`);
      }
      value = Array.isArray(value) ? value[position] : value.charCodeAt(position);
    } else if (isObject(value)) {
      // Go's index of a missing map key gives the zero value, not an error.
      value = Object.prototype.hasOwnProperty.call(value, String(key)) ? value[String(key)] : null;
    } else {
      throw new Error(`can't index item of type ${typeName(value)}`);
    }
  }
  return value;
}

/** Formats like Go's printf, for the verbs %s, %v, %d, %q and %% with an optional width. */
function printf(format: string, args: Value[]): string {
  let next = 0;
  return format.replace(/%([-0-9]*)([svdq%])/g, (_, width: string, verb: string) => {
    if (verb === '%') return '%';
    if (next >= args.length) return `%!${verb}(MISSING)`;
    const arg = args[next++];
    const text = verb === 'q' ? JSON.stringify(formatValue(arg)) : formatValue(arg);
    const size = Number(width.replace('-', '')) || 0;
    return width.startsWith('-') ? text.padEnd(size) : text.padStart(size);
  });
}

/** Returns the 1-based line number of `offset` in `text`. */
function lineOf(text: string, offset: number): number {
  return text.slice(0, offset).split('\n').length;
}

/** Formats Go's "LINE:COLUMN" of a node, where the column is the offset within its line. */
function positionOf(text: string, offset: number): string {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  return `${lineOf(text, offset)}:${offset - lineStart}`;
}

const TOKEN =
  /\s+|"(?:[^"\\\n]|\\.)*"|`[^`]*`|\(|\)|\||:=|,|\$[A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*|(?:\.[A-Za-z_][A-Za-z0-9_]*)+|\.|-?[0-9]+(?:\.[0-9]+)?|[A-Za-z_][A-Za-z0-9_]*/y;

/** A token of an action, with its byte offset in the template. */
interface Token {
  text: string;
  offset: number;
}

class Parser {
  private position = 0;
  private tokens: Token[] = [];
  private tokenIndex = 0;

  constructor(private readonly text: string) {}

  parseAll(): Node[] {
    const { nodes, end } = this.parseList();
    if (end !== undefined) this.fail(end.offset, `unexpected {{${end.word}}}`);
    return nodes;
  }

  private fail(offset: number, message: string): never {
    throw new TemplateParseError(lineOf(this.text, offset), message);
  }

  /** Parses nodes up to `{{end}}`, `{{else}}` or the end of the text. */
  private parseList(): { nodes: Node[]; end?: { word: 'end' | 'else'; offset: number } } {
    const nodes: Node[] = [];
    for (;;) {
      const open = this.text.indexOf('{{', this.position);
      if (open < 0) {
        if (this.position < this.text.length) {
          nodes.push({ kind: 'text', text: this.text.slice(this.position) });
        }
        this.position = this.text.length;
        return { nodes };
      }
      // Go's trim markers are "{{- " and " -}}", where the space may be any ASCII space.
      const trimLeft = /^\{\{-[ \t\r\n]/.test(this.text.slice(open, open + 4));
      let text = this.text.slice(this.position, open);
      if (trimLeft) text = text.replace(/\s+$/, '');
      if (text !== '') nodes.push({ kind: 'text', text });
      const close = this.text.indexOf('}}', open + 2);
      if (close < 0) this.fail(open, 'unclosed action');
      const trimRight = close >= open + 4 && /[ \t\r\n]-$/.test(this.text.slice(close - 2, close));
      const bodyStart = open + (trimLeft ? 3 : 2);
      const bodyEnd = trimRight ? close - 2 : close;
      this.position = close + 2;
      if (trimRight) this.position += /^\s*/.exec(this.text.slice(this.position))![0].length;
      this.tokenize(bodyStart, bodyEnd);
      const node = this.parseAction(open);
      if (node === 'end' || node === 'else') return { nodes, end: { word: node, offset: open } };
      if (node !== undefined) nodes.push(node);
    }
  }

  private tokenize(start: number, end: number): void {
    const body = this.text.slice(start, end);
    if (body.startsWith('/*')) {
      this.tokens = [];
      this.tokenIndex = 0;
      return;
    }
    const tokens: Token[] = [];
    TOKEN.lastIndex = 0;
    while (TOKEN.lastIndex < body.length) {
      const from = TOKEN.lastIndex;
      const match = TOKEN.exec(body);
      if (match === null) this.fail(start + from, `unexpected "${body[from]}" in command`);
      if (!/^\s/.test(match[0])) tokens.push({ text: match[0], offset: start + from });
    }
    this.tokens = tokens;
    this.tokenIndex = 0;
  }

  private peek(): Token | undefined {
    return this.tokens[this.tokenIndex];
  }

  /** Parses one action's tokens: a keyword block, `end`, `else`, a comment or a pipeline. */
  private parseAction(open: number): Node | 'end' | 'else' | undefined {
    const first = this.peek();
    if (first === undefined) {
      // Only a comment leaves no tokens: `{{}}` is an error in Go.
      if (this.text.slice(open).match(/^\{\{-? ?\/\*/)) return undefined;
      this.fail(open, 'missing value for command');
    }
    if (first.text === 'end' || first.text === 'else') {
      this.tokenIndex++;
      if (first.text === 'end' && this.peek() !== undefined) {
        this.fail(first.offset, `unexpected "${this.peek()!.text}" in end`);
      }
      if (first.text === 'else' && this.peek() !== undefined) {
        this.fail(first.offset, 'else if and else with are not supported');
      }
      return first.text;
    }
    if (first.text === 'if' || first.text === 'with' || first.text === 'range') {
      this.tokenIndex++;
      const pipeline = this.parsePipeline(first.text, true);
      return this.parseBlock(first.text, pipeline, first.offset);
    }
    if (['define', 'template', 'block', 'break', 'continue'].includes(first.text)) {
      this.fail(first.offset, `{{${first.text}}} is not supported`);
    }
    return { kind: 'action', pipeline: this.parsePipeline('command', true) };
  }

  private parseBlock(kind: 'if' | 'with' | 'range', pipeline: Pipeline, offset: number): Node {
    const body = this.parseList();
    if (body.end === undefined) this.fail(offset, `unexpected EOF: {{${kind}}} has no {{end}}`);
    let otherwise: Node[] = [];
    if (body.end.word === 'else') {
      const rest = this.parseList();
      if (rest.end?.word !== 'end') this.fail(offset, `unexpected EOF: {{${kind}}} has no {{end}}`);
      otherwise = rest.nodes;
    }
    return { kind, pipeline, body: body.nodes, otherwise };
  }

  /** Parses commands separated by `|` up to the end of the action or a `)`. */
  private parsePipeline(context: string, allowDeclarations = false): Pipeline {
    const declarations = allowDeclarations ? this.parseDeclarations(context) : [];
    const commands: Operand[][] = [[]];
    for (;;) {
      const token = this.peek();
      if (token === undefined || token.text === ')') break;
      this.tokenIndex++;
      if (token.text === '|') {
        if (commands[commands.length - 1].length === 0) this.fail(token.offset, 'missing command');
        commands.push([]);
        continue;
      }
      commands[commands.length - 1].push(this.parseOperand(token));
    }
    const last = commands[commands.length - 1];
    if (last.length === 0) {
      this.fail(this.tokens[0]?.offset ?? 0, `missing value for ${context}`);
    }
    for (const command of commands) {
      if (command.length > 1 && command[0].kind !== 'function') {
        this.fail(command[1].offset, `unexpected "${command[1].source}" in operand`);
      }
    }
    return { declarations, commands };
  }

  /**
   * Parses `$x :=` or, in a range, `$key, $value :=` at the start of a pipeline, and returns
   * the declared variables, or none when the pipeline does not start with a declaration.
   */
  private parseDeclarations(context: string): Operand[] {
    const start = this.tokenIndex;
    const declarations: Operand[] = [];
    for (;;) {
      const token = this.peek();
      if (token === undefined || !/^\$[A-Za-z0-9_]*$/.test(token.text)) break;
      declarations.push({ kind: 'variable', offset: token.offset, source: token.text, path: [] });
      declarations[declarations.length - 1].name = token.text;
      this.tokenIndex++;
      const separator = this.peek();
      if (separator?.text === ':=') {
        this.tokenIndex++;
        const maxDeclarations = context === 'range' ? 2 : 1;
        if (declarations.length > maxDeclarations)
          this.fail(token.offset, `too many declarations in ${context}`);
        return declarations;
      }
      if (separator?.text !== ',' || context !== 'range') break;
      this.tokenIndex++;
    }
    this.tokenIndex = start;
    return [];
  }

  private parseOperand(token: Token): Operand {
    const { text, offset } = token;
    const base = { offset, source: text };
    if (text === '(') {
      const pipeline = this.parsePipeline('parenthesized pipeline');
      const close = this.peek();
      if (close?.text !== ')') this.fail(offset, 'unclosed left paren');
      this.tokenIndex++;
      // A field right after the parenthesis applies to its result: (index .Ports 0).HostPort.
      const field = this.peek();
      let path: string[] = [];
      if (field !== undefined && field.offset === close.offset + 1 && field.text.startsWith('.')) {
        this.tokenIndex++;
        path = field.text.slice(1).split('.');
      }
      return { ...base, kind: 'pipeline', pipeline, path };
    }
    if (text === ')') this.fail(offset, 'unexpected right paren');
    if (text === ':=' || text === ',') this.fail(offset, `unexpected "${text}" in operand`);
    if (text === '.') return { ...base, kind: 'dot' };
    if (text.startsWith('$')) {
      const [name, ...path] = text.split('.');
      return { ...base, kind: 'variable', name, path };
    }
    if (text.startsWith('.')) return { ...base, kind: 'field', path: text.slice(1).split('.') };
    if (text.startsWith('"')) return { ...base, kind: 'literal', value: this.parseString(token) };
    if (text.startsWith('`')) return { ...base, kind: 'literal', value: text.slice(1, -1) };
    if (/^-?[0-9]/.test(text)) return { ...base, kind: 'literal', value: Number(text) };
    if (text === 'true' || text === 'false')
      return { ...base, kind: 'literal', value: text === 'true' };
    if (text === 'nil') return { ...base, kind: 'literal', value: null };
    if (!(text in functions)) this.fail(offset, `function "${text}" not defined`);
    return { ...base, kind: 'function', name: text };
  }

  /** Decodes a quoted string with the escapes that Go and JSON share (\n, \t, \", \\, \u). */
  private parseString(token: Token): string {
    try {
      return JSON.parse(token.text) as string;
    } catch {
      this.fail(token.offset, `invalid syntax in string ${token.text}`);
    }
  }
}

/** Variables in scope by name, `$` included. Each block gets a copy, so its declarations end with it. */
type Variables = Map<string, Value>;

class Executor {
  constructor(
    private readonly text: string,
    private readonly root: Value,
    private readonly functions: Record<string, TemplateFunction>,
    private readonly missingKeyIsError: boolean,
  ) {}

  run(nodes: Node[], dot: Value, variables: Variables = new Map([['$', this.root]])): string {
    let output = '';
    for (const node of nodes) {
      if (node.kind === 'text') {
        output += node.text;
      } else if (node.kind === 'action') {
        const value = this.evalPipeline(node.pipeline, dot, variables);
        // An action that declares a variable prints nothing, as in Go.
        if (node.pipeline.declarations.length === 0) output += formatValue(value);
        else variables.set(node.pipeline.declarations[0].name!, value);
      } else {
        output += this.runBlock(node, dot, new Map(variables));
      }
    }
    return output;
  }

  private runBlock(
    node: Extract<Node, { kind: 'if' | 'with' | 'range' }>,
    dot: Value,
    variables: Variables,
  ): string {
    const value = this.evalPipeline(node.pipeline, dot, variables);
    const declared = node.pipeline.declarations.map((operand) => operand.name!);
    if (node.kind !== 'range' && declared.length > 0) variables.set(declared[0], value);
    if (node.kind === 'if') {
      return this.run(truthy(value) ? node.body : node.otherwise, dot, variables);
    }
    if (node.kind === 'with') {
      return truthy(value)
        ? this.run(node.body, value, variables)
        : this.run(node.otherwise, dot, variables);
    }
    const entries = this.rangeEntries(node, value);
    if (entries.length === 0) return this.run(node.otherwise, dot, variables);
    let output = '';
    for (const [key, item] of entries) {
      const scope = new Map(variables);
      if (declared.length === 1) scope.set(declared[0], item);
      if (declared.length === 2) {
        scope.set(declared[0], key);
        scope.set(declared[1], item);
      }
      output += this.run(node.body, item, scope);
    }
    return output;
  }

  /** Lists the [key, element] pairs a range visits: a list's indexes, an object's sorted keys. */
  private rangeEntries(node: { pipeline: Pipeline }, value: Value): [Value, Value][] {
    if (Array.isArray(value)) return value.map((item, i) => [i, item]);
    if (isObject(value)) {
      return Object.keys(value)
        .sort()
        .map((key) => [key, value[key]]);
    }
    if (value === null || value === undefined) return [];
    const operand = node.pipeline.commands[0][0];
    throw new TemplateExecError(
      this.position(operand),
      operand.source,
      `range can't iterate over ${formatValue(value)}`,
    );
  }

  private evalPipeline(pipeline: Pipeline, dot: Value, variables: Variables): Value {
    let result: Value = undefined;
    pipeline.commands.forEach((command, i) => {
      const piped = i === 0 ? [] : [result];
      result = this.evalCommand(command, dot, variables, piped);
    });
    return result;
  }

  private evalCommand(command: Operand[], dot: Value, variables: Variables, piped: Value[]): Value {
    const [head, ...rest] = command;
    if (head.kind !== 'function') {
      if (piped.length > 0) this.failAt(head, "can't give argument to non-function");
      return this.evalOperand(head, dot, variables);
    }
    const args = [...rest.map((operand) => this.evalOperand(operand, dot, variables)), ...piped];
    try {
      return this.functions[head.name!](...args);
    } catch (error) {
      if (error instanceof TemplateExecError) throw error;
      this.failAt(head, `error calling ${head.name}: ${(error as Error).message}`);
    }
  }

  private evalOperand(operand: Operand, dot: Value, variables: Variables): Value {
    switch (operand.kind) {
      case 'dot':
        return dot;
      case 'literal':
        return operand.value;
      case 'pipeline':
        return this.walk(operand, this.evalPipeline(operand.pipeline!, dot, variables));
      case 'variable':
        if (!variables.has(operand.name!)) {
          this.failAt(operand, `undefined variable: ${operand.name}`);
        }
        return this.walk(operand, variables.get(operand.name!));
      case 'field':
        return this.walk(operand, dot);
      default:
        return this.functions[operand.name!]();
    }
  }

  /** Follows `operand`'s field path from `start`. */
  private walk(operand: Operand, start: Value): Value {
    let value = start;
    for (const name of operand.path!) {
      if (isObject(value)) {
        if (Object.prototype.hasOwnProperty.call(value, name)) {
          value = value[name];
        } else if (this.missingKeyIsError) {
          this.failAt(operand, `map has no entry for key "${name}"`);
        } else {
          value = '';
        }
      } else if (value === null || value === undefined) {
        this.failAt(operand, `nil pointer evaluating interface {}.${name}`);
      } else {
        this.failAt(operand, `can't evaluate field ${name} in type ${typeName(value)}`);
      }
    }
    return value;
  }

  private failAt(operand: Operand, message: string): never {
    throw new TemplateExecError(this.position(operand), operand.source, message);
  }

  private position(operand: Operand): string {
    return positionOf(this.text, operand.offset);
  }
}
