package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/aogo/aogo/dataitem"
)

// Page sizes of the transactions and blocks queries.
const (
	defaultFirst = 10
	maxFirst     = 1000
	// maxFilterValues bounds the values one transactions query filters on (each is an SQL parameter).
	maxFilterValues = 5000
)

// queryError is an error in the request (bad argument, unknown variable …), answered with HTTP 400; any other
// error while executing is the gateway's own (500).
type queryError struct{ msg string }

func (e *queryError) Error() string { return e.msg }

func queryErrorf(format string, args ...any) error { return &queryError{fmt.Sprintf(format, args...)} }

// jsonObject is a JSON object that keeps its keys in selection order, as GraphQL answers do.
type jsonObject []jsonField

type jsonField struct {
	key string
	val any
}

func (o jsonObject) MarshalJSON() ([]byte, error) { return appendJSON(nil, o), nil }

// appendJSON encodes an answer tree (jsonObject, []any, string, bool, nil, integers) without reflection:
// answers are large and simple, and nested MarshalJSON calls would re-scan every level.
func appendJSON(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case jsonObject:
		b = append(b, '{')
		for i, f := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, f.key)
			b = append(b, ':')
			b = appendJSON(b, f.val)
		}
		return append(b, '}')
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSON(b, e)
		}
		return append(b, ']')
	case string:
		return appendString(b, x)
	case bool:
		return strconv.AppendBool(b, x)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case uint64:
		return strconv.AppendUint(b, x, 10)
	}
	j, err := json.Marshal(v)
	if err != nil {
		return append(b, "null"...)
	}
	return append(b, j...)
}

// appendString writes s as a JSON string, escaping what encoding/json escapes (quotes, backslash, control
// characters, <, >, &, U+2028/2029) and replacing invalid UTF-8.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// executor runs one validated operation.
type executor struct {
	s      *Server
	op     *gqlOperation
	vars   map[string]any
	answer answerBudget
}

// graphQLRequest is a POST /graphql body.
type graphQLRequest struct {
	Query         string         `json:"query"`
	Variables     map[string]any `json:"variables"`
	OperationName string         `json:"operationName"`
}

// execGraphQL parses, validates and runs a request, returning the "data" object.
func (s *Server) execGraphQL(ctx context.Context, req graphQLRequest) (jsonObject, error) {
	doc, err := parseQuery(req.Query)
	if err != nil {
		return nil, &queryError{err.Error()}
	}
	op, err := doc.operation(req.OperationName)
	if err != nil {
		return nil, &queryError{err.Error()}
	}
	if err := validate(op); err != nil {
		return nil, &queryError{err.Error()}
	}
	ex := &executor{s: s, op: op, vars: map[string]any{}}
	for _, v := range op.vars {
		val, given := req.Variables[v.name]
		switch {
		case given:
			ex.vars[v.name] = val
		case v.def != nil:
			d, err := ex.input(*v.def)
			if err != nil {
				return nil, err
			}
			ex.vars[v.name] = d
		}
		if ex.vars[v.name] == nil && v.typ.nonNull {
			return nil, queryErrorf("Variable \"$%s\" of required type \"%s\" was not provided.", v.name, v.typ)
		}
	}
	cost, err := ex.cost("Query", op.sel, 0)
	if err != nil {
		return nil, err
	}
	if cost > maxCost {
		return nil, costError(cost)
	}
	ex.answer.left = maxAnswerBytes
	return ex.object(ctx, "Query", nil, op.sel)
}

// cost counts the fields sel resolves on typ, before anything runs: each connection's edges as many times as
// its page size (first; page is the enclosing connection's), each list of tags as one tag. It stops counting
// past maxCost.
func (ex *executor) cost(typ string, sel []*gqlField, page int) (int, error) {
	groups, err := ex.collect(sel)
	if err != nil {
		return 0, err
	}
	total := 0
	for _, g := range groups {
		total++
		def := gqlSchema[typ][g.field.name]
		if def.typ == "" {
			continue
		}
		times, sub := 1, page
		switch {
		case typ == "Query" && (g.field.name == "transactions" || g.field.name == "blocks"):
			args, err := ex.args(g.field)
			if err != nil {
				return 0, err
			}
			if sub, err = first(args["first"]); err != nil {
				return 0, err
			}
		case g.field.name == "edges":
			times = page
		}
		c, err := ex.cost(def.typ, g.sel, sub)
		if err != nil {
			return 0, err
		}
		total += times * c
		if total > maxCost {
			return total, nil
		}
	}
	return total, nil
}

// input turns a literal or variable into a plain Go value: string, json.Number, bool, nil, []any,
// map[string]any (what variables decode to as well).
func (ex *executor) input(v gqlValue) (any, error) {
	switch v.kind {
	case valVar:
		return ex.vars[v.s], nil
	case valInt, valFloat:
		return json.Number(v.s), nil
	case valString, valEnum:
		return v.s, nil
	case valBool:
		return v.s == "true", nil
	case valNull:
		return nil, nil
	case valList:
		out := make([]any, 0, len(v.list))
		for _, e := range v.list {
			x, err := ex.input(e)
			if err != nil {
				return nil, err
			}
			out = append(out, x)
		}
		return out, nil
	case valObject:
		out := make(map[string]any, len(v.obj))
		for _, a := range v.obj {
			x, err := ex.input(a.val)
			if err != nil {
				return nil, err
			}
			out[a.name] = x
		}
		return out, nil
	}
	return nil, queryErrorf("unsupported value")
}

// args resolves a field's arguments.
func (ex *executor) args(f *gqlField) (map[string]any, error) {
	out := make(map[string]any, len(f.args))
	for _, a := range f.args {
		v, err := ex.input(a.val)
		if err != nil {
			return nil, err
		}
		out[a.name] = v
	}
	return out, nil
}

// group is the fields of a selection set sharing one response key, merged as GraphQL merges them.
type group struct {
	field *gqlField
	sel   []*gqlField
}

func (ex *executor) collect(sel []*gqlField) ([]*group, error) {
	var groups []*group
	byKey := map[string]*group{}
	for _, f := range sel {
		include := true
		for _, d := range f.dirs {
			v, err := ex.input(d.args[0].val)
			if err != nil {
				return nil, err
			}
			b, ok := v.(bool)
			if !ok {
				return nil, queryErrorf("Argument \"if\" of directive \"@%s\" must be a Boolean.", d.name)
			}
			if d.name == "skip" && b || d.name == "include" && !b {
				include = false
			}
		}
		if !include {
			continue
		}
		if g, ok := byKey[f.key()]; ok {
			if g.field.name != f.name {
				return nil, queryErrorf("Fields \"%s\" conflict because \"%s\" and \"%s\" are different fields.", f.key(), g.field.name, f.name)
			}
			g.sel = append(g.sel, f.sel...)
			continue
		}
		g := &group{field: f, sel: append([]*gqlField(nil), f.sel...)}
		byKey[f.key()] = g
		groups = append(groups, g)
	}
	return groups, nil
}

// object resolves a selection set on a value of an object type.
func (ex *executor) object(ctx context.Context, typ string, src any, sel []*gqlField) (jsonObject, error) {
	groups, err := ex.collect(sel)
	if err != nil {
		return nil, err
	}
	out := make(jsonObject, 0, len(groups))
	for _, g := range groups {
		var v any
		if g.field.name == "__typename" {
			v = typ
		} else {
			v, err = ex.field(ctx, typ, src, g)
			if err != nil {
				return nil, err
			}
		}
		// The field's key and string value, and what holds them in the tree (jsonField, interface, slice
		// growth): nested objects and lists charged their own fields already.
		n := len(g.field.key()) + 48
		if s, ok := v.(string); ok {
			n += len(s)
		}
		if err := ex.answer.charge(n); err != nil {
			return nil, err
		}
		out = append(out, jsonField{g.field.key(), v})
	}
	return out, nil
}

// sub resolves a nested object field; a nil src answers null.
func (ex *executor) sub(ctx context.Context, typ string, src any, g *group) (any, error) {
	if src == nil {
		return nil, nil
	}
	return ex.object(ctx, typ, src, g.sel)
}

func (ex *executor) field(ctx context.Context, typ string, src any, g *group) (any, error) {
	f := g.field
	switch typ {
	case "Query":
		args, err := ex.args(f)
		if err != nil {
			return nil, err
		}
		switch f.name {
		case "transactions":
			conn, err := ex.transactions(ctx, args)
			if err != nil {
				return nil, err
			}
			return ex.object(ctx, "TransactionConnection", conn, g.sel)
		case "transaction":
			id, ok := args["id"].(string)
			if !ok {
				return nil, queryErrorf("Argument \"id\" of \"transaction\" must be a string.")
			}
			r, err := ex.s.store.get(ctx, id)
			if errors.Is(err, ErrNotFound) {
				return nil, nil
			}
			if err != nil {
				return nil, err
			}
			return ex.object(ctx, "Transaction", r, g.sel)
		case "blocks":
			conn, err := ex.blocks(args)
			if err != nil {
				return nil, err
			}
			return ex.object(ctx, "BlockConnection", conn, g.sel)
		case "block":
			b, ok, err := ex.block(args)
			if err != nil || !ok {
				return nil, err
			}
			return ex.object(ctx, "Block", b, g.sel)
		}
	case "TransactionConnection":
		c := src.(*txConn)
		switch f.name {
		case "pageInfo":
			return ex.object(ctx, "PageInfo", c.more, g.sel)
		case "edges":
			edges := make([]any, 0, len(c.rows))
			for _, r := range c.rows {
				e, err := ex.object(ctx, "TransactionEdge", r, g.sel)
				if err != nil {
					return nil, err
				}
				edges = append(edges, e)
			}
			return edges, nil
		}
	case "BlockConnection":
		c := src.(*blockConn)
		switch f.name {
		case "pageInfo":
			return ex.object(ctx, "PageInfo", c.more, g.sel)
		case "edges":
			edges := make([]any, 0, len(c.blocks))
			for _, b := range c.blocks {
				e, err := ex.object(ctx, "BlockEdge", b, g.sel)
				if err != nil {
					return nil, err
				}
				edges = append(edges, e)
			}
			return edges, nil
		}
	case "PageInfo":
		return src.(bool), nil
	case "TransactionEdge":
		r := src.(*itemRow)
		if f.name == "cursor" {
			return cursor{height: r.Height, seq: r.Seq}.String(), nil
		}
		return ex.object(ctx, "Transaction", r, g.sel)
	case "BlockEdge":
		b := src.(Block)
		if f.name == "cursor" {
			return cursor{height: b.Height}.String(), nil
		}
		return ex.object(ctx, "Block", b, g.sel)
	case "Transaction":
		return ex.txField(ctx, src.(*itemRow), g)
	case "Owner":
		r := src.(*itemRow)
		if f.name == "address" {
			return r.OwnerAddress, nil
		}
		return dataitem.B64(r.Owner), nil
	case "Amount":
		if f.name == "winston" {
			return "0", nil
		}
		return "0.000000000000", nil
	case "MetaData":
		r := src.(*itemRow)
		if f.name == "size" {
			return strconv.FormatInt(r.DataSize, 10), nil
		}
		if r.ContentType == "" {
			return nil, nil
		}
		return r.ContentType, nil
	case "Tag":
		t := src.(dataitem.Tag)
		if f.name == "name" {
			return t.Name, nil
		}
		return t.Value, nil
	case "Block":
		b := src.(Block)
		switch f.name {
		case "id":
			return b.ID, nil
		case "timestamp":
			return b.Timestamp, nil
		case "height":
			return b.Height, nil
		case "previous":
			return b.Previous, nil
		}
	case "Parent", "Bundle":
		return src.(string), nil
	}
	return nil, fmt.Errorf("graphql: no resolver for %s.%s", typ, f.name)
}

func (ex *executor) txField(ctx context.Context, r *itemRow, g *group) (any, error) {
	switch g.field.name {
	case "id":
		return r.ID, nil
	case "anchor":
		return r.Anchor, nil
	case "signature":
		return dataitem.B64(r.Signature), nil
	case "recipient":
		return r.Target, nil
	case "owner":
		return ex.object(ctx, "Owner", r, g.sel)
	case "fee", "quantity":
		return ex.object(ctx, "Amount", r, g.sel)
	case "data":
		return ex.object(ctx, "MetaData", r, g.sel)
	case "tags":
		tags := make([]any, 0, len(r.Tags))
		for _, t := range r.Tags {
			o, err := ex.object(ctx, "Tag", t, g.sel)
			if err != nil {
				return nil, err
			}
			tags = append(tags, o)
		}
		return tags, nil
	case "block":
		return ex.object(ctx, "Block", ex.s.chain.block(r.Height), g.sel)
	case "parent", "bundledIn":
		if r.BundledIn == "" {
			return nil, nil
		}
		return ex.sub(ctx, "Bundle", r.BundledIn, g)
	}
	return nil, fmt.Errorf("graphql: no resolver for Transaction.%s", g.field.name)
}

type txConn struct {
	rows []*itemRow
	more bool
}

func (ex *executor) transactions(ctx context.Context, args map[string]any) (*txConn, error) {
	var f txFilter
	var err error
	if f.ids, err = stringList(args, "ids"); err != nil {
		return nil, err
	}
	if f.owners, err = stringList(args, "owners"); err != nil {
		return nil, err
	}
	if f.recipients, err = stringList(args, "recipients"); err != nil {
		return nil, err
	}
	if f.bundledIn, err = stringList(args, "bundledIn"); err != nil {
		return nil, err
	}
	if f.tags, err = tagFilters(args["tags"]); err != nil {
		return nil, err
	}
	if f.minHeight, f.maxHeight, err = heightRange(args["block"], "block"); err != nil {
		return nil, err
	}
	f.maxSet = f.maxHeight != math.MaxUint64
	if f.asc, err = sortOrder(args["sort"]); err != nil {
		return nil, err
	}
	if f.limit, err = first(args["first"]); err != nil {
		return nil, err
	}
	if a, ok := args["after"]; ok && a != nil {
		s, ok := a.(string)
		if !ok {
			return nil, queryErrorf("Argument \"after\" must be a string cursor.")
		}
		if s != "" {
			if f.after, err = parseCursor(s); err != nil {
				return nil, &queryError{err.Error()}
			}
		}
	}
	n := len(f.ids) + len(f.owners) + len(f.recipients) + len(f.bundledIn)
	for _, t := range f.tags {
		n += len(t.Values) + 1
	}
	if n > maxFilterValues {
		return nil, queryErrorf("The query filters on %d values; the limit is %d.", n, maxFilterValues)
	}
	// The rows read may use a quarter of what is left of the answer (itemRow.size counts what rendering all
	// their fields would charge): the page ends early (hasNextPage) when they would use more.
	f.maxBytes = max(ex.answer.left/4, 1)
	rows, more, err := ex.s.store.query(ctx, f)
	if err != nil {
		return nil, err
	}
	return &txConn{rows: rows, more: more}, nil
}

type blockConn struct {
	blocks []Block
	more   bool
}

func (ex *executor) blocks(args map[string]any) (*blockConn, error) {
	c := ex.s.chain
	cur := c.height()
	lo, hi, err := heightRange(args["height"], "height")
	if err != nil {
		return nil, err
	}
	lo = max(lo, c.start)
	hi = min(hi, cur)
	ids, err := stringList(args, "ids")
	if err != nil {
		return nil, err
	}
	asc, err := sortOrder(args["sort"])
	if err != nil {
		return nil, err
	}
	limit, err := first(args["first"])
	if err != nil {
		return nil, err
	}
	if a, ok := args["after"].(string); ok && a != "" {
		cur, err := parseCursor(a)
		if err != nil {
			return nil, &queryError{err.Error()}
		}
		if asc {
			lo = max(lo, cur.height+1)
		} else if cur.height == 0 {
			return &blockConn{}, nil
		} else {
			hi = min(hi, cur.height-1)
		}
	}
	var want map[uint64]bool
	if ids != nil {
		want = map[uint64]bool{}
		for _, id := range ids {
			if h, ok := blockHeightOf(id); ok {
				want[h] = true
			}
		}
	}
	conn := &blockConn{}
	if lo > hi {
		return conn, nil
	}
	add := func(h uint64) bool {
		if want != nil && !want[h] {
			return true
		}
		if len(conn.blocks) == limit {
			conn.more = true
			return false
		}
		conn.blocks = append(conn.blocks, c.block(h))
		return true
	}
	if want != nil {
		// Only the asked-for heights, not the whole range.
		hs := make([]uint64, 0, len(want))
		for h := range want {
			if h >= lo && h <= hi {
				hs = append(hs, h)
			}
		}
		sortHeights(hs, asc)
		for _, h := range hs {
			if !add(h) {
				break
			}
		}
		return conn, nil
	}
	if asc {
		for h := lo; h <= hi && add(h); h++ {
			if h == math.MaxUint64 {
				break
			}
		}
	} else {
		for h := hi; h >= lo && add(h); h-- {
			if h == 0 {
				break
			}
		}
	}
	return conn, nil
}

func (ex *executor) block(args map[string]any) (Block, bool, error) {
	c := ex.s.chain
	var h uint64
	switch {
	case args["id"] != nil:
		id, ok := args["id"].(string)
		if !ok {
			return Block{}, false, queryErrorf("Argument \"id\" of \"block\" must be a string.")
		}
		if h, ok = blockHeightOf(id); !ok {
			return Block{}, false, nil
		}
	case args["height"] != nil:
		n, err := uintArg(args["height"], "height")
		if err != nil {
			return Block{}, false, err
		}
		h = n
	default:
		h = c.height()
	}
	if h < c.start || h > c.height() {
		return Block{}, false, nil
	}
	return c.block(h), true, nil
}

// stringList reads a [String] argument; a single string is a list of one (GraphQL input coercion).
func stringList(args map[string]any, name string) ([]string, error) {
	switch v := args[name].(type) {
	case nil:
		return nil, nil
	case string:
		return []string{v}, nil
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, queryErrorf("Argument \"%s\" must be a list of strings.", name)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, queryErrorf("Argument \"%s\" must be a list of strings.", name)
}

func tagFilters(v any) ([]TagFilter, error) {
	if v == nil {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		list = []any{v}
	}
	out := make([]TagFilter, 0, len(list))
	for _, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, queryErrorf("Argument \"tags\" must be a list of {name, values} objects.")
		}
		var t TagFilter
		for k, x := range m {
			switch k {
			case "name":
				s, ok := x.(string)
				if !ok {
					return nil, queryErrorf("A tag filter's \"name\" must be a string.")
				}
				t.Name = s
			case "values":
				vals, err := stringList(m, "values")
				if err != nil {
					return nil, err
				}
				t.Values = vals
			case "op":
				s, _ := x.(string)
				if x != nil && s != "EQ" && s != "NEQ" {
					return nil, queryErrorf("A tag filter's \"op\" must be EQ or NEQ, not %v.", x)
				}
				t.Op = s
			case "match":
				if s, _ := x.(string); x != nil && s != "EXACT" {
					return nil, queryErrorf("Only EXACT tag matching is supported, not %v.", x)
				}
			default:
				return nil, queryErrorf("Unknown field \"%s\" in a tag filter (know name, values, op, match).", k)
			}
		}
		if t.Name == "" {
			return nil, queryErrorf("A tag filter needs a \"name\".")
		}
		if len(t.Values) == 0 {
			return nil, queryErrorf("The tag filter on \"%s\" needs at least one value.", t.Name)
		}
		out = append(out, t)
	}
	return out, nil
}

// heightRange reads a {min, max} argument; absent bounds are 0 and MaxUint64.
func heightRange(v any, name string) (uint64, uint64, error) {
	lo, hi := uint64(0), uint64(math.MaxUint64)
	if v == nil {
		return lo, hi, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return 0, 0, queryErrorf("Argument \"%s\" must be an object {min, max}.", name)
	}
	for k, x := range m {
		if x == nil {
			continue
		}
		n, err := uintArg(x, name+"."+k)
		if err != nil {
			return 0, 0, err
		}
		switch k {
		case "min":
			lo = n
		case "max":
			hi = n
		default:
			return 0, 0, queryErrorf("Unknown field \"%s\" in argument \"%s\" (know min, max).", k, name)
		}
	}
	return lo, hi, nil
}

func uintArg(v any, name string) (uint64, error) {
	switch x := v.(type) {
	case json.Number:
		if n, err := strconv.ParseUint(x.String(), 10, 63); err == nil {
			return n, nil
		}
		if f, err := x.Float64(); err == nil && f >= 0 && f == math.Trunc(f) && f < 1<<62 {
			return uint64(f), nil
		}
	case float64:
		if x >= 0 && x == math.Trunc(x) && x < 1<<62 {
			return uint64(x), nil
		}
	}
	return 0, queryErrorf("Argument \"%s\" must be a non-negative integer, not %v.", name, v)
}

func sortOrder(v any) (asc bool, err error) {
	switch v {
	case nil, SortHeightDesc:
		return false, nil
	case SortHeightAsc:
		return true, nil
	}
	return false, queryErrorf("Argument \"sort\" must be HEIGHT_DESC or HEIGHT_ASC, not %v.", v)
}

func first(v any) (int, error) {
	if v == nil {
		return defaultFirst, nil
	}
	n, err := uintArg(v, "first")
	if err != nil {
		return 0, err
	}
	if n > maxFirst {
		return maxFirst, nil
	}
	return int(n), nil
}

func sortHeights(hs []uint64, asc bool) {
	slices.Sort(hs)
	if !asc {
		slices.Reverse(hs)
	}
}
