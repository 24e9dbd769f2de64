// Jinja2 as Salt uses it, on nunjucks with shims. Chosen over minijinja-js by the fidelity
// suite (test/jinja-fidelity.test.ts): minijinja's values are immutable, so the
// `{% do d.update(…) %}` of every saltstack-formulas map.jinja cannot work there.
// The shims patch nunjucks' parser, compiler and runtime once, for the whole process (only
// brine uses nunjucks): Python output (None, True, ['a']), truthiness, ==, +, *, %, for-if
// loop filters, tuple unpacking in set, trailing commas, slicing, expression dict keys,
// `**kwargs`, Python methods on values; Salt's tags (do, import_yaml/json/text,
// load_yaml/json/text … endload) and filters.
import nunjucks from 'nunjucks'
import { createFilters, TESTS } from './jinja-filters.ts'
import {
  isDict,
  iterate,
  type Kwargs,
  pyAdd,
  pyEq,
  pyMethod,
  pyMod,
  pyMul,
  pySlice,
  pyStr,
  pyTruthy,
  splitArgs,
  tuple,
} from './jinja-python.ts'
import { SALT_FUNCTIONS } from './jinja-salt.ts'
import { loadSaltYaml } from './yaml-salt.ts'

// biome-ignore lint/suspicious/noExplicitAny: nunjucks' internals have no types
type Any = any
const nj = nunjucks as Any
const { nodes, lexer, runtime } = nj
const Compiler = nj.compiler.Compiler
const Parser = nj.parser.Parser

let installed = false

function installShims(): void {
  if (installed) return
  installed = true
  // --- runtime ---
  runtime.suppressValue = (value: unknown) =>
    value instanceof runtime.SafeString ? value : pyStr(value)
  runtime.ensureDefined = (value: unknown, lineno: number, colno: number, name?: string) => {
    if (value === undefined)
      throw new nj.lib.TemplateError(
        `Jinja variable ${name ? `'${name}' ` : ''}is undefined`,
        lineno + 1,
        colno + 1,
      )
    return value
  }
  memberLookup = (obj: unknown, key: unknown, ...rest: unknown[]) => {
    if (rest.length === 2) return pySlice(obj, key, rest[0], rest[1])
    if (obj === undefined || obj === null) return undefined
    obj = unsafe(obj)
    if (typeof key === 'string') {
      const own =
        typeof obj === 'object' || typeof obj === 'function'
          ? Object.hasOwn(obj as object, key) ||
            (key in (obj as object) && !isDict(obj) && !Array.isArray(obj))
          : false
      if (own) {
        const value = (obj as Record<string, unknown>)[key]
        return typeof value === 'function'
          ? (value as (...a: unknown[]) => unknown).bind(obj)
          : value
      }
      const method = pyMethod(obj, key)
      if (method) return method
      if (activeCall && (obj as Record<symbol, unknown>)[SALT_FUNCTIONS]) return saltFallback(key)
      if ((obj as Record<symbol, unknown>)[SALT_MODULE]) {
        const call = activeCall
        const fun = `${String((obj as Record<symbol, unknown>)[SALT_MODULE])}.${key}`
        return call && ((...raw: unknown[]) => call(fun, ...splitArgs(raw)))
      }
      return undefined
    }
    if (Array.isArray(obj) && typeof key === 'number') return obj[key < 0 ? obj.length + key : key]
    if (typeof obj === 'string' && typeof key === 'number')
      return obj[key < 0 ? obj.length + key : key]
    return (obj as Record<string, unknown>)[String(key)]
  }
  // The compiled code tracks 0-based lines; messages and RenderError.line are 1-based.
  runtime.handleError = (error: Any, lineno: number, colno: number) =>
    error.lineno ? error : new nj.lib.TemplateError(error, lineno + 1, colno + 1)
  const origCallWrap = runtime.callWrap
  runtime.callWrap = (obj: unknown, name: string, context: unknown, args: unknown[]) => {
    const fun =
      /^salt\["([\w.]+)"\]$/.exec(name)?.[1] ??
      /^salt\["(\w+)"\]\["(\w+)"\]$/.exec(name)?.slice(1).join('.')
    if (obj === undefined && fun)
      throw new Error(
        `salt['${fun}'] cannot be called from a template here: pillar, top files and state.show_sls render synchronously, with pillar.get, grains.get, grains.filter_by, config.get, defaults.*, slsutil.merge, log.* and test.ping only (state.apply, state.sls and state.highstate can call any function)`,
      )
    return origCallWrap(obj, name, context, args)
  }
  runtime.inOperator = (item: unknown, container: unknown) => TESTS.in!(item, container)
  Object.assign(runtime, {
    pyStr,
    pyTruthy,
    pyEq,
    pyAdd,
    pyMul,
    pyMod,
    pyIter: iterate,
    pyTuple: tuple,
    pyOr: (a: unknown, b: () => unknown) => (pyTruthy(a) ? a : b()),
    pyAnd: (a: unknown, b: () => unknown) => (pyTruthy(a) ? b() : a),
    pyUnpack: (value: unknown, n: number) => {
      const items = iterate(value)
      if (items.length !== n)
        throw new Error(`cannot unpack ${items.length} values into ${n} names`)
      return items
    },
  })

  // --- compiler: Python operators ---
  const proto = Compiler.prototype
  const call = (self: Any, fn: string, node: Any, frame: Any, lazyRight = false) => {
    self._emit(`runtime.${fn}(`)
    self.compile(node.left, frame)
    self._emit(lazyRight ? ', function() { return ' : ', ')
    self.compile(node.right, frame)
    self._emit(lazyRight ? '; })' : ')')
  }
  proto.compileAdd = function (node: Any, frame: Any) {
    call(this, 'pyAdd', node, frame)
  }
  proto.compileMul = function (node: Any, frame: Any) {
    call(this, 'pyMul', node, frame)
  }
  proto.compileMod = function (node: Any, frame: Any) {
    call(this, 'pyMod', node, frame)
  }
  proto.compileOr = function (node: Any, frame: Any) {
    call(this, 'pyOr', node, frame, true)
  }
  proto.compileAnd = function (node: Any, frame: Any) {
    call(this, 'pyAnd', node, frame, true)
  }
  proto.compileConcat = function (node: Any, frame: Any) {
    this._emit('(runtime.pyStr(')
    this.compile(node.left, frame)
    this._emit(') + runtime.pyStr(')
    this.compile(node.right, frame)
    this._emit('))')
  }
  proto.compileNot = function (node: Any, frame: Any) {
    this._emit('!runtime.pyTruthy(')
    this.compile(node.target, frame)
    this._emit(')')
  }
  const origCompare = proto.compileCompare
  proto.compileCompare = function (node: Any, frame: Any) {
    if (node.ops.length === 1 && ['==', '!='].includes(node.ops[0].type)) {
      this._emit(node.ops[0].type === '!=' ? '!runtime.pyEq(' : 'runtime.pyEq(')
      this.compile(node.expr, frame)
      this._emit(', ')
      this.compile(node.ops[0].expr, frame)
      this._emit(')')
      return
    }
    origCompare.call(this, node, frame)
  }
  const origIf = proto.compileIf
  proto.compileIf = function (node: Any, frame: Any, async: boolean) {
    node.cond = new Truthy(node.cond.lineno, node.cond.colno, node.cond)
    origIf.call(this, node, frame, async)
  }
  proto.compileInlineIf = function (node: Any, frame: Any) {
    this._emit('(runtime.pyTruthy(')
    this.compile(node.cond, frame)
    this._emit(') ? ')
    this.compile(node.body, frame)
    this._emit(' : ')
    if (node.else_ !== null) this.compile(node.else_, frame)
    else this._emit('""')
    this._emit(')')
  }
  proto.compileTruthy = function (node: Any, frame: Any) {
    this._emit('runtime.pyTruthy(')
    this._compileExpression(node.target, frame)
    this._emit(')')
  }
  // Tuples: `(a, b)` and `(a,)`; a single parenthesized expression stays itself.
  proto.compileGroup = function (node: Any, frame: Any) {
    if (node.children.length === 1 && !node.isTuple) {
      this._emit('(')
      this.compile(node.children[0], frame)
      this._emit(')')
      return
    }
    this._emit('runtime.pyTuple(')
    this._compileAggregate(node, frame, '[', ']')
    this._emit(')')
  }
  // Dict keys are expressions, as in Python (`{name: 1}` uses the variable `name`).
  proto.compilePair = function (node: Any, frame: Any) {
    this._emit('[runtime.pyStr(')
    this._compileExpression(node.key, frame)
    this._emit(')]: ')
    this._compileExpression(node.value, frame)
  }
  proto.compileKeywordArgs = function (node: Any, frame: Any) {
    this._emit('runtime.makeKeywordArgs(Object.assign(')
    this._emit('{')
    node.children.forEach((pair: Any, i: number) => {
      if (i) this._emit(',')
      this._emit(`${JSON.stringify(pair.key.value)}: `)
      this._compileExpression(pair.value, frame)
    })
    this._emit('}')
    for (const splat of node.splats ?? []) {
      this._emit(', ')
      this._compileExpression(splat, frame)
    }
    this._emit('))')
  }
  // `{% set a, b = … %}` unpacks.
  const origSet = proto.compileSet
  proto.compileSet = function (node: Any, frame: Any) {
    const [first] = node.targets
    if (node.targets.length === 1 && first instanceof nodes.LookupVal && node.value) {
      // `{% set ns.n = … %}`
      this._emit('(')
      this._compileExpression(first.target, frame)
      this._emit(')[')
      this._compileExpression(first.val, frame)
      this._emit('] = ')
      this._compileExpression(node.value, frame)
      this._emitLine(';')
      return
    }
    if (node.targets.length === 1 && first instanceof nodes.Symbol) {
      // Jinja2 scoping: a set inside a loop or macro makes a local, never changes the outer name.
      const name = first.value
      const value = this._tmpid()
      this._emit(`var ${value} = `)
      if (node.value) this._compileExpression(node.value, frame)
      else this.compile(node.body, frame)
      this._emitLine(';')
      let id = frame.variables?.[name]
      if (id === undefined || id === null) {
        id = this._tmpid()
        this._emitLine(`var ${id};`)
        frame.set(name, id)
      }
      this._emitLine(`${id} = ${value};`)
      this._emitLine(`frame.set("${name}", ${id});`)
      this._emitLine('if(frame.topLevel) {')
      this._emitLine(`context.setVariable("${name}", ${id});`)
      if (name.charAt(0) !== '_') this._emitLine(`context.addExport("${name}", ${id});`)
      this._emitLine('}')
      return
    }
    if (node.targets.length > 1 && node.value) {
      const tmp = this._tmpid()
      this._emit(`var ${tmp} = runtime.pyUnpack(`)
      this._compileExpression(node.value, frame)
      this._emitLine(`, ${node.targets.length});`)
      node.targets.forEach((target: Any, i: number) => {
        origSet.call(
          this,
          new nodes.Set(
            node.lineno,
            node.colno,
            [target],
            new Raw(node.lineno, node.colno, `${tmp}[${i}]`),
          ),
          frame,
        )
      })
      return
    }
    origSet.call(this, node, frame)
  }
  // Name what is undefined, as Salt's "Jinja variable 'x' is undefined".
  proto.compileOutput = function (node: Any, frame: Any) {
    for (const child of node.children) {
      if (child instanceof nodes.TemplateData) {
        if (child.value) {
          this._emit(`${this.buffer} += `)
          this.compileLiteral(child, frame)
          this._emitLine(';')
        }
        continue
      }
      this._emitLine(`lineno = ${child.lineno}; colno = ${child.colno};`)
      this._emit(`${this.buffer} += runtime.suppressValue(runtime.ensureDefined(`)
      this.compile(child, frame)
      this._emit(
        `,${node.lineno},${node.colno},${JSON.stringify(nodeName(this, child))}), env.opts.autoescape);\n`,
      )
    }
  }
  proto.compileRaw = function (node: Any) {
    this._emit(node.code)
  }
  // for loops: a dict gives its keys; `for x in xs if cond` filters before the loop.
  const origFor = proto.compileFor
  proto.compileFor = function (node: Any, frame: Any) {
    let arr = node.arr
    let cond: Any = null
    if (arr instanceof nodes.InlineIf && arr.else_ === null) {
      cond = arr.cond
      arr = arr.body
    }
    node.arr = new LoopSource(arr.lineno, arr.colno, arr, cond, node.name)
    origFor.call(this, node, frame)
  }
  proto.compileLoopSource = function (node: Any, frame: Any) {
    const names = node.name instanceof nodes.Array ? node.name.children : null
    this._emit(names ? '(' : 'runtime.pyIter(')
    this._compileExpression(node.arr, frame)
    this._emit(names ? ')' : ')')
    if (node.cond) {
      const item = this._tmpid()
      const inner = frame.push()
      if (names)
        names.forEach((n: Any, i: number) => {
          inner.set(n.value, `${item}[${i}]`)
        })
      else inner.set(node.name.value, item)
      this._emit(`.filter(function(${item}) { return runtime.pyTruthy(`)
      this._compileExpression(node.cond, inner)
      this._emit('); })')
    }
  }
  const origAssert = proto.assertType
  proto.assertType = function (node: Any, ...types: Any[]) {
    if (
      node instanceof Truthy ||
      node instanceof LoopSource ||
      node instanceof Raw ||
      node instanceof nodes.Capture
    )
      return
    origAssert.call(this, node, ...types)
  }

  // --- lexer: `{{ {'a': {'b': 1}} }}`: a `}}` that closes open braces is two braces ---
  const Tokenizer = nj.lexer.lex('').constructor
  const origNextToken = Tokenizer.prototype.nextToken
  Tokenizer.prototype.nextToken = function (this: Any) {
    this.curlyDepth ??= 0
    if (
      this.in_code &&
      this.curlyDepth > 0 &&
      this.str.slice(this.index, this.index + 2) === '}}'
    ) {
      const tok = {
        type: lexer.TOKEN_RIGHT_CURLY,
        value: '}',
        lineno: this.lineno,
        colno: this.colno,
      }
      this.forward()
      this.curlyDepth--
      return tok
    }
    const tok = origNextToken.call(this)
    if (tok?.type === lexer.TOKEN_LEFT_CURLY) this.curlyDepth++
    else if (tok?.type === lexer.TOKEN_RIGHT_CURLY) this.curlyDepth--
    else if (tok && tok.type !== lexer.TOKEN_WHITESPACE && !this.in_code) this.curlyDepth = 0
    return tok
  }

  // --- parser: `x is in y`; trailing commas, tuples, `**kwargs` ---
  Parser.prototype.parseIs = function (this: Any) {
    let node = this.parseCompare()
    if (this.skipSymbol('is')) {
      const negated = this.skipSymbol('not')
      if (this.skipSymbol('in'))
        node = new nodes.In(node.lineno, node.colno, node, this.parseCompare())
      else {
        let test = this.parseCompare()
        // `x is divisibleby 3`: one argument without parentheses, as Jinja2 allows.
        const next = this.peekToken()
        const argStart =
          [
            lexer.TOKEN_INT,
            lexer.TOKEN_NONE,
            lexer.TOKEN_BOOLEAN,
            lexer.TOKEN_FLOAT,
            lexer.TOKEN_STRING,
            lexer.TOKEN_LEFT_BRACKET,
            lexer.TOKEN_LEFT_CURLY,
          ].includes(next.type) ||
          (next.type === lexer.TOKEN_SYMBOL &&
            !['and', 'or', 'else', 'if', 'not', 'is', 'in', 'as', 'recursive'].includes(next.value))
        if (test instanceof nodes.Symbol && argStart)
          test = new nodes.FunCall(
            test.lineno,
            test.colno,
            test,
            new nodes.NodeList(test.lineno, test.colno, [this.parsePrimary()]),
          )
        node = new nodes.Is(node.lineno, node.colno, node, test)
      }
      if (negated) node = new nodes.Not(node.lineno, node.colno, node)
    }
    return node
  }
  Parser.prototype.parseAggregate = function parseAggregate() {
    const tok = this.nextToken()
    let node: Any
    switch (tok.type) {
      case lexer.TOKEN_LEFT_PAREN:
        node = new nodes.Group(tok.lineno, tok.colno)
        break
      case lexer.TOKEN_LEFT_BRACKET:
        node = new nodes.Array(tok.lineno, tok.colno)
        break
      case lexer.TOKEN_LEFT_CURLY:
        node = new nodes.Dict(tok.lineno, tok.colno)
        break
      default:
        return null
    }
    const closing = [lexer.TOKEN_RIGHT_PAREN, lexer.TOKEN_RIGHT_BRACKET, lexer.TOKEN_RIGHT_CURLY]
    for (;;) {
      if (closing.includes(this.peekToken().type)) {
        this.nextToken()
        break
      }
      if (node.children.length > 0) {
        if (!this.skip(lexer.TOKEN_COMMA))
          this.fail('parseAggregate: expected comma after expression', tok.lineno, tok.colno)
        if (node instanceof nodes.Group) node.isTuple = true
        if (closing.includes(this.peekToken().type)) {
          this.nextToken()
          break
        }
      }
      if (node instanceof nodes.Dict) {
        const key = this.parseExpression()
        if (!this.skip(lexer.TOKEN_COLON))
          this.fail('parseAggregate: expected colon after dict key', tok.lineno, tok.colno)
        node.addChild(new nodes.Pair(key.lineno, key.colno, key, this.parseExpression()))
      } else node.addChild(this.parseExpression())
    }
    return node
  }
  nj.installJinjaCompat.call(nj) // slices `l[1:]`, wrapping the parseAggregate above
  runtime.memberLookup = memberLookup
  const origSignature = Parser.prototype.parseSignature
  Parser.prototype.parseSignature = function (tolerant: boolean, noParens: boolean) {
    // `f(a, **opts)`: take the `**expr` out, parse the rest, then attach it to the kwargs.
    const splats: Any[] = []
    const origParseExpression = this.parseExpression
    this.parseExpression = function (this: Any) {
      const tok = this.peekToken()
      if (tok.type === lexer.TOKEN_RIGHT_PAREN)
        return new nodes.Literal(tok.lineno, tok.colno, SPLAT) // `f(a, )`
      if (tok.type === lexer.TOKEN_OPERATOR && tok.value === '**') {
        this.nextToken()
        splats.push(origParseExpression.call(this))
        return new nodes.Literal(tok.lineno, tok.colno, SPLAT)
      }
      return origParseExpression.call(this)
    }
    let args: Any
    try {
      args = origSignature.call(this, tolerant, noParens)
    } finally {
      this.parseExpression = origParseExpression
    }
    if (!args) return args
    args.children = args.children.filter(
      (c: Any) => !(c instanceof nodes.Literal && c.value === SPLAT),
    )
    if (!splats.length) return args
    let kwargs = args.children.find((c: Any) => c instanceof nodes.KeywordArgs)
    if (!kwargs) {
      kwargs = new nodes.KeywordArgs(args.lineno, args.colno)
      args.addChild(kwargs)
    }
    kwargs.splats = splats
    return args
  }
}

// The module functions of the render in progress (renderJinjaText's `call`): set only for
// the synchronous extent of one render, so nested imports of that render reach it too.
let activeCall: JinjaOptions['call']
const SALT_MODULE = Symbol('brine.jinja.salt-module')

/** `salt['mod.fun']` or `salt.mod` that the salt object lacks: a call through `activeCall`. */
function saltFallback(key: string): unknown {
  const call = activeCall
  if (!call) return undefined
  if (/^\w+\.\w+$/.test(key)) return (...raw: unknown[]) => call(key, ...splitArgs(raw))
  if (/^\w+$/.test(key)) return { [SALT_MODULE]: key }
  return undefined
}

/** A macro's output (nunjucks' SafeString) is a str to filters and methods. */
function unsafe(value: unknown): unknown {
  return value instanceof runtime.SafeString ? String(value) : value
}

function nodeName(compiler: Any, node: Any): string {
  if (node instanceof nodes.Literal) return String(node.value)
  if (node instanceof nodes.Symbol) return node.value
  if (node instanceof nodes.LookupVal)
    return `${nodeName(compiler, node.target)}.${nodeName(compiler, node.val)}`
  if (node instanceof nodes.FunCall) return `${nodeName(compiler, node.name)}()`
  return 'expression'
}

const SPLAT = Symbol('splat')
let memberLookup: Any

const Truthy = nodes.Node.extend('Truthy', { fields: ['target'] })
const LoopSource = nodes.Node.extend('LoopSource', { fields: ['arr', 'cond', 'name'] })
const Raw = nodes.Node.extend('Raw', {
  fields: [],
  init(lineno: number, colno: number, code: string) {
    this.parent(lineno, colno)
    this.code = code
  },
})

/** Salt's tags: `do`, `import_yaml`/`import_json`/`import_text`, `load_yaml`/`load_json`/`load_text`. */
function saltExtension(): Any {
  return {
    tags: [
      'do',
      'break',
      'continue',
      'import_yaml',
      'import_json',
      'import_text',
      'load_yaml',
      'load_json',
      'load_text',
    ],
    parse(parser: Any) {
      const tok = parser.nextToken()
      const tag = tok.value as string
      if (tag === 'break' || tag === 'continue') {
        parser.advanceAfterBlockEnd(tok.value)
        return new Raw(tok.lineno, tok.colno, `${tag};`)
      }
      if (tag === 'do') {
        const expr = parser.parseExpression()
        parser.advanceAfterBlockEnd(tok.value)
        return new nodes.Output(tok.lineno, tok.colno, [
          new nodes.FunCall(
            tok.lineno,
            tok.colno,
            new nodes.Symbol(tok.lineno, tok.colno, '__brine_discard'),
            new nodes.NodeList(tok.lineno, tok.colno, [expr]),
          ),
        ])
      }
      const kind = tag.slice(tag.indexOf('_') + 1)
      if (tag.startsWith('import_')) {
        const source = parser.parseExpression()
        if (!parser.skipSymbol('as'))
          parser.fail(`${tag}: expected "as NAME"`, tok.lineno, tok.colno)
        const target = parser.parsePrimary()
        parser.advanceAfterBlockEnd(tok.value)
        const value = new nodes.FunCall(
          tok.lineno,
          tok.colno,
          new nodes.Symbol(tok.lineno, tok.colno, '__brine_import'),
          new nodes.NodeList(tok.lineno, tok.colno, [
            new nodes.Literal(tok.lineno, tok.colno, kind),
            source,
          ]),
        )
        return new nodes.Set(tok.lineno, tok.colno, [target], value)
      }
      if (!parser.skipSymbol('as')) parser.fail(`${tag}: expected "as NAME"`, tok.lineno, tok.colno)
      const target = parser.parsePrimary()
      parser.advanceAfterBlockEnd(tok.value)
      const body = parser.parseUntilBlocks('endload')
      parser.advanceAfterBlockEnd()
      const captured = new nodes.Capture(tok.lineno, tok.colno, body)
      const value = new nodes.Filter(
        tok.lineno,
        tok.colno,
        new nodes.Symbol(tok.lineno, tok.colno, `load_${kind}`),
        new nodes.NodeList(tok.lineno, tok.colno, [captured]),
      )
      return new nodes.Set(tok.lineno, tok.colno, [target], value)
    },
  }
}

export interface JinjaOptions {
  /** Roots for `{% include %}`, `{% import %}`, `{% import_yaml %}`: the state or pillar tree. */
  searchPaths: string[]
  /** Also the templates' globals, as in Salt, so imports without context still see salt, grains, pillar. */
  context: Record<string, unknown>
  /** Templates by name, looked up before the search paths (tests). */
  templates?: Record<string, string> | undefined
  /**
   * Any other module function (`salt['vmware_vm.list']()`, `salt.cmd.run(…)`): called
   * synchronously with positional and keyword arguments; without it such a call is an error.
   */
  call?: ((fun: string, args: unknown[], kwargs: Kwargs) => unknown) | undefined
}

/** Render Jinja text as Salt would; errors are nunjucks' TemplateError with a line number. */
export function renderJinjaText(text: string, options: JinjaOptions): string {
  installShims()
  const loaders: Any[] = []
  if (options.templates) {
    const templates = options.templates
    loaders.push({
      getSource: (name: string) =>
        Object.hasOwn(templates, name) ? { src: templates[name], path: name, noCache: true } : null,
    })
  }
  if (options.searchPaths.length)
    loaders.push(new nj.FileSystemLoader(options.searchPaths, { noCache: true }))
  const env = new nj.Environment(loaders, { autoescape: false, throwOnUndefined: true })
  const filters = createFilters(() => undefined)
  for (const [name, filter] of Object.entries(filters))
    env.addFilter(name, (value: unknown, ...raw: unknown[]) => {
      const [args, kwargs] = splitArgs(raw.map(unsafe))
      return filter(unsafe(value), args, kwargs)
    })
  for (const [name, test] of Object.entries(TESTS)) env.addTest(name, test)
  env.addExtension('salt', saltExtension())
  const globals: Record<string, unknown> = {
    True: true,
    False: false,
    None: null,
    range: (...raw: unknown[]) => {
      const [a, b, step = 1] = raw.length === 1 ? [0, raw[0]] : raw
      const out: number[] = []
      for (let i = Number(a); Number(step) > 0 ? i < Number(b) : i > Number(b); i += Number(step))
        out.push(i)
      return out
    },
    namespace: (...raw: unknown[]) => ({ ...splitArgs(raw)[1] }),
    dict: (...raw: unknown[]) => ({ ...splitArgs(raw)[1] }),
    __brine_discard: () => '',
    __brine_import: (kind: string, name: string) => {
      const source = env.getTemplate(name).render({})
      if (kind === 'yaml') return loadSaltYaml(source)
      if (kind === 'json') return JSON.parse(source)
      return source
    },
    ...options.context,
  }
  for (const [name, value] of Object.entries(globals)) env.addGlobal(name, value)
  const outer = activeCall
  activeCall = options.call
  try {
    return env.renderString(text, options.context)
  } finally {
    activeCall = outer
  }
}
