package gateway

import (
	"fmt"
	"sort"
	"strings"
)

// The schema of the subset: for each object type, its fields, their type ("" for a scalar) and arguments.
// It mirrors Arweave's GraphQL schema for the parts ao tools select.

type fieldDef struct {
	typ  string
	args []string
}

var gqlSchema = map[string]map[string]fieldDef{
	"Query": {
		"transactions": {typ: "TransactionConnection", args: []string{"ids", "owners", "recipients", "tags", "bundledIn", "block", "first", "after", "sort"}},
		"transaction":  {typ: "Transaction", args: []string{"id"}},
		"blocks":       {typ: "BlockConnection", args: []string{"ids", "height", "first", "after", "sort"}},
		"block":        {typ: "Block", args: []string{"id", "height"}},
	},
	"TransactionConnection": {"pageInfo": {typ: "PageInfo"}, "edges": {typ: "TransactionEdge"}},
	"BlockConnection":       {"pageInfo": {typ: "PageInfo"}, "edges": {typ: "BlockEdge"}},
	"PageInfo":              {"hasNextPage": {}},
	"TransactionEdge":       {"cursor": {}, "node": {typ: "Transaction"}},
	"BlockEdge":             {"cursor": {}, "node": {typ: "Block"}},
	"Transaction": {
		"id": {}, "anchor": {}, "signature": {}, "recipient": {},
		"owner": {typ: "Owner"}, "fee": {typ: "Amount"}, "quantity": {typ: "Amount"}, "data": {typ: "MetaData"},
		"tags": {typ: "Tag"}, "block": {typ: "Block"}, "parent": {typ: "Parent"}, "bundledIn": {typ: "Bundle"},
	},
	"Owner":    {"address": {}, "key": {}},
	"Amount":   {"winston": {}, "ar": {}},
	"MetaData": {"size": {}, "type": {}},
	"Tag":      {"name": {}, "value": {}},
	"Block":    {"id": {}, "timestamp": {}, "height": {}, "previous": {}},
	"Parent":   {"id": {}},
	"Bundle":   {"id": {}},
}

// validate checks op against the schema the way a GraphQL server validates before executing: known fields and
// arguments, selections on objects and none on scalars, known directives, defined variables.
func validate(op *gqlOperation) error {
	vars := map[string]bool{}
	for _, v := range op.vars {
		vars[v.name] = true
	}
	checkValue := func(v gqlValue) error { return checkVars(v, vars) }
	var walk func(typ string, sel []*gqlField) error
	walk = func(typ string, sel []*gqlField) error {
		fields := gqlSchema[typ]
		for _, f := range sel {
			for _, d := range f.dirs {
				if d.name != "skip" && d.name != "include" {
					return fmt.Errorf("Unknown directive \"@%s\".", d.name)
				}
				if len(d.args) != 1 || d.args[0].name != "if" {
					return fmt.Errorf("Directive \"@%s\" takes exactly one argument \"if\".", d.name)
				}
				if err := checkValue(d.args[0].val); err != nil {
					return err
				}
			}
			if f.name == "__typename" {
				if f.sel != nil || f.args != nil {
					return fmt.Errorf("Field \"__typename\" takes no arguments or selection.")
				}
				continue
			}
			def, ok := fields[f.name]
			if !ok {
				return fmt.Errorf("Cannot query field \"%s\" on type \"%s\".%s", f.name, typ, suggest(fields))
			}
			for _, a := range f.args {
				if !contains(def.args, a.name) {
					return fmt.Errorf("Unknown argument \"%s\" on field \"%s.%s\".", a.name, typ, f.name)
				}
				if err := checkValue(a.val); err != nil {
					return err
				}
			}
			switch {
			case def.typ == "" && f.sel != nil:
				return fmt.Errorf("Field \"%s\" must not have a selection since its type is a scalar.", f.name)
			case def.typ != "" && f.sel == nil:
				return fmt.Errorf("Field \"%s\" of type \"%s\" must have a selection of subfields.", f.name, def.typ)
			case def.typ != "":
				if err := walk(def.typ, f.sel); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return walk("Query", op.sel)
}

func checkVars(v gqlValue, defined map[string]bool) error {
	switch v.kind {
	case valVar:
		if !defined[v.s] {
			return fmt.Errorf("Variable \"$%s\" is not defined.", v.s)
		}
	case valList:
		for _, e := range v.list {
			if err := checkVars(e, defined); err != nil {
				return err
			}
		}
	case valObject:
		for _, a := range v.obj {
			if err := checkVars(a.val, defined); err != nil {
				return err
			}
		}
	}
	return nil
}

func suggest(fields map[string]fieldDef) string {
	names := make([]string, 0, len(fields))
	for n := range fields {
		names = append(names, n)
	}
	sort.Strings(names)
	return " Known fields: " + strings.Join(names, ", ") + "."
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
