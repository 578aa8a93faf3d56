package gateway

import (
	"fmt"
	"strings"
)

// The subset: a document of query operations (anonymous "{ … }" or "query Name($v: Type = default) { … }"),
// fields with aliases, arguments and nested selections, the @skip/@include directives, and every literal value
// kind plus $variables at any depth. Fragments, mutations and subscriptions are refused with a clear error.

type gqlDocument struct {
	ops []*gqlOperation
}

type gqlOperation struct {
	name string
	vars []gqlVarDef
	sel  []*gqlField
}

type gqlVarDef struct {
	name    string
	typ     *gqlType
	def     *gqlValue
	defined bool
}

type gqlType struct {
	name    string   // named type, or "" for a list
	elem    *gqlType // list element type
	nonNull bool
}

func (t *gqlType) String() string {
	s := t.name
	if t.elem != nil {
		s = "[" + t.elem.String() + "]"
	}
	if t.nonNull {
		s += "!"
	}
	return s
}

type gqlField struct {
	alias string // response key when different from name
	name  string
	args  []gqlArg
	dirs  []gqlDirective
	sel   []*gqlField // nil for a leaf
	pos   int
}

func (f *gqlField) key() string {
	if f.alias != "" {
		return f.alias
	}
	return f.name
}

type gqlArg struct {
	name string
	val  gqlValue
	pos  int
}

type gqlDirective struct {
	name string
	args []gqlArg
	pos  int
}

type valueKind int

const (
	valVar valueKind = iota
	valInt
	valFloat
	valString
	valBool
	valNull
	valEnum
	valList
	valObject
)

type gqlValue struct {
	kind valueKind
	s    string // variable name, literal text, string value, "true"/"false", enum name
	list []gqlValue
	obj  []gqlArg
	pos  int
}

// maxDepth bounds selection and value nesting so hostile queries cannot exhaust the stack.
const maxDepth = 32

type parser struct {
	lex lexer
	tok token
}

// parseQuery parses a GraphQL document of the supported subset.
func parseQuery(src string) (*gqlDocument, error) {
	if len(src) > maxQueryLen {
		return nil, &syntaxError{pos: maxQueryLen, msg: fmt.Sprintf("query longer than %d bytes", maxQueryLen)}
	}
	p := &parser{lex: lexer{src: src}}
	if err := p.advance(); err != nil {
		return nil, err
	}
	doc := &gqlDocument{}
	for p.tok.kind != tokEOF {
		op, err := p.operation()
		if err != nil {
			return nil, err
		}
		doc.ops = append(doc.ops, op)
	}
	if len(doc.ops) == 0 {
		return nil, &syntaxError{pos: 0, msg: "the query holds no operation"}
	}
	return doc, nil
}

func (p *parser) advance() error {
	t, err := p.lex.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

func (p *parser) errorf(format string, args ...any) error {
	return &syntaxError{pos: p.tok.pos, msg: fmt.Sprintf(format, args...)}
}

func (p *parser) isPunct(s string) bool { return p.tok.kind == tokPunct && p.tok.text == s }

func (p *parser) expect(s string) error {
	if !p.isPunct(s) {
		return p.errorf("expected %q, found %s", s, p.tok)
	}
	return p.advance()
}

func (p *parser) name() (string, error) {
	if p.tok.kind != tokName {
		return "", p.errorf("expected a name, found %s", p.tok)
	}
	n := p.tok.text
	return n, p.advance()
}

func (p *parser) operation() (*gqlOperation, error) {
	op := &gqlOperation{}
	if p.isPunct("{") {
		sel, err := p.selectionSet(0)
		op.sel = sel
		return op, err
	}
	if p.tok.kind != tokName {
		return nil, p.errorf("expected an operation, found %s", p.tok)
	}
	switch p.tok.text {
	case "query":
	case "mutation", "subscription":
		return nil, p.errorf("only queries are supported, not %s", p.tok.text)
	case "fragment":
		return nil, p.errorf("fragments are not supported")
	default:
		return nil, p.errorf("unexpected %s, expected \"query\" or \"{\"", p.tok)
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	if p.tok.kind == tokName {
		op.name = p.tok.text
		if err := p.advance(); err != nil {
			return nil, err
		}
	}
	if p.isPunct("(") {
		if err := p.advance(); err != nil {
			return nil, err
		}
		for !p.isPunct(")") {
			v, err := p.varDef()
			if err != nil {
				return nil, err
			}
			for _, o := range op.vars {
				if o.name == v.name {
					return nil, p.errorf("variable $%s defined twice", v.name)
				}
			}
			op.vars = append(op.vars, v)
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
	}
	if p.isPunct("@") {
		return nil, p.errorf("directives on operations are not supported")
	}
	sel, err := p.selectionSet(0)
	op.sel = sel
	return op, err
}

func (p *parser) varDef() (gqlVarDef, error) {
	var v gqlVarDef
	if err := p.expect("$"); err != nil {
		return v, err
	}
	name, err := p.name()
	if err != nil {
		return v, err
	}
	v.name = name
	if err := p.expect(":"); err != nil {
		return v, err
	}
	if v.typ, err = p.typeRef(0); err != nil {
		return v, err
	}
	if p.isPunct("=") {
		if err := p.advance(); err != nil {
			return v, err
		}
		val, err := p.value(true, 0)
		if err != nil {
			return v, err
		}
		v.def = &val
	}
	return v, nil
}

func (p *parser) typeRef(depth int) (*gqlType, error) {
	if depth > maxDepth {
		return nil, p.errorf("type nested too deep")
	}
	t := &gqlType{}
	if p.isPunct("[") {
		if err := p.advance(); err != nil {
			return nil, err
		}
		elem, err := p.typeRef(depth + 1)
		if err != nil {
			return nil, err
		}
		t.elem = elem
		if err := p.expect("]"); err != nil {
			return nil, err
		}
	} else {
		name, err := p.name()
		if err != nil {
			return nil, err
		}
		t.name = name
	}
	if p.isPunct("!") {
		t.nonNull = true
		if err := p.advance(); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func (p *parser) selectionSet(depth int) ([]*gqlField, error) {
	if depth > maxDepth {
		return nil, p.errorf("selections nested deeper than %d", maxDepth)
	}
	if err := p.expect("{"); err != nil {
		return nil, err
	}
	var sel []*gqlField
	for !p.isPunct("}") {
		if p.isPunct("...") {
			return nil, p.errorf("fragments are not supported")
		}
		f, err := p.field(depth)
		if err != nil {
			return nil, err
		}
		sel = append(sel, f)
	}
	if len(sel) == 0 {
		return nil, p.errorf("empty selection set")
	}
	return sel, p.advance()
}

func (p *parser) field(depth int) (*gqlField, error) {
	f := &gqlField{pos: p.tok.pos}
	name, err := p.name()
	if err != nil {
		return nil, err
	}
	f.name = name
	if p.isPunct(":") {
		if err := p.advance(); err != nil {
			return nil, err
		}
		f.alias = name
		if f.name, err = p.name(); err != nil {
			return nil, err
		}
	}
	if p.isPunct("(") {
		if f.args, err = p.arguments(false, depth); err != nil {
			return nil, err
		}
	}
	for p.isPunct("@") {
		d := gqlDirective{pos: p.tok.pos}
		if err := p.advance(); err != nil {
			return nil, err
		}
		if d.name, err = p.name(); err != nil {
			return nil, err
		}
		if p.isPunct("(") {
			if d.args, err = p.arguments(false, depth); err != nil {
				return nil, err
			}
		}
		f.dirs = append(f.dirs, d)
	}
	if p.isPunct("{") {
		if f.sel, err = p.selectionSet(depth + 1); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// arguments reads "(name: value …)"; const refuses variables (default values must be constant).
func (p *parser) arguments(isConst bool, depth int) ([]gqlArg, error) {
	if err := p.expect("("); err != nil {
		return nil, err
	}
	var args []gqlArg
	for !p.isPunct(")") {
		a := gqlArg{pos: p.tok.pos}
		var err error
		if a.name, err = p.name(); err != nil {
			return nil, err
		}
		for _, o := range args {
			if o.name == a.name {
				return nil, p.errorf("argument %q given twice", a.name)
			}
		}
		if err := p.expect(":"); err != nil {
			return nil, err
		}
		if a.val, err = p.value(isConst, depth); err != nil {
			return nil, err
		}
		args = append(args, a)
	}
	if len(args) == 0 {
		return nil, p.errorf("empty argument list")
	}
	return args, p.advance()
}

func (p *parser) value(isConst bool, depth int) (gqlValue, error) {
	v := gqlValue{pos: p.tok.pos}
	if depth > maxDepth {
		return v, p.errorf("value nested deeper than %d", maxDepth)
	}
	switch p.tok.kind {
	case tokInt, tokFloat, tokString:
		v.kind = map[tokKind]valueKind{tokInt: valInt, tokFloat: valFloat, tokString: valString}[p.tok.kind]
		v.s = p.tok.text
		return v, p.advance()
	case tokName:
		switch p.tok.text {
		case "true", "false":
			v.kind = valBool
		case "null":
			v.kind = valNull
		default:
			v.kind = valEnum
		}
		v.s = p.tok.text
		return v, p.advance()
	case tokPunct:
		switch p.tok.text {
		case "$":
			if isConst {
				return v, p.errorf("variables are not allowed here")
			}
			if err := p.advance(); err != nil {
				return v, err
			}
			name, err := p.name()
			v.kind, v.s = valVar, name
			return v, err
		case "[":
			v.kind = valList
			v.list = []gqlValue{}
			if err := p.advance(); err != nil {
				return v, err
			}
			for !p.isPunct("]") {
				e, err := p.value(isConst, depth+1)
				if err != nil {
					return v, err
				}
				v.list = append(v.list, e)
			}
			return v, p.advance()
		case "{":
			v.kind = valObject
			if err := p.advance(); err != nil {
				return v, err
			}
			for !p.isPunct("}") {
				a := gqlArg{pos: p.tok.pos}
				var err error
				if a.name, err = p.name(); err != nil {
					return v, err
				}
				if err := p.expect(":"); err != nil {
					return v, err
				}
				if a.val, err = p.value(isConst, depth+1); err != nil {
					return v, err
				}
				for _, o := range v.obj {
					if o.name == a.name {
						return v, p.errorf("field %q given twice in an input object", a.name)
					}
				}
				v.obj = append(v.obj, a)
			}
			return v, p.advance()
		}
	}
	return v, p.errorf("expected a value, found %s", p.tok)
}

// operation picks the operation to run: the one named name, or the only one when name is "".
func (d *gqlDocument) operation(name string) (*gqlOperation, error) {
	if name == "" {
		if len(d.ops) > 1 {
			return nil, fmt.Errorf("the query holds %d operations: give an operationName", len(d.ops))
		}
		return d.ops[0], nil
	}
	for _, op := range d.ops {
		if op.name == name {
			return op, nil
		}
	}
	names := make([]string, 0, len(d.ops))
	for _, op := range d.ops {
		names = append(names, op.name)
	}
	return nil, fmt.Errorf("unknown operation named %q (the query has %s)", name, strings.Join(names, ", "))
}
