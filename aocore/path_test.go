package aocore

import (
	"reflect"
	"strings"
	"testing"
)

func TestParsePath(t *testing.T) {
	for _, c := range []struct {
		path, query string
		want        string // the parse, rendered
		check       func(*Path) bool
	}{
		{"/~meta@1.0/info/address", "", "/~meta@1.0/info/address", func(p *Path) bool {
			return p.Segments[0].Device == "meta@1.0" && p.Segments[0].Key == "" && p.Segments[2].Key == "address"
		}},
		{"/PID~process@1.0/compute/results=5", "", "/PID~process@1.0/compute/results=5", func(p *Path) bool {
			s := p.Segments[2]
			return p.Segments[0].Key == "PID" && s.Key == "results" && s.HasValue && s.Value == "5"
		}},
		{"/PID~process@1.0/as=execution/compute&Action=Info&Recipient=abc", "", "", func(p *Path) bool {
			s := p.Segments[2]
			v, _ := s.Get("action")
			return p.Segments[1].Key == "as" && p.Segments[1].Value == "execution" && s.Key == "compute" && v == "Info" && s.Params[0].Key == "Action"
		}},
		{"/PID/compute&slot+integer=7/results", "", "", func(p *Path) bool {
			return p.Segments[1].Params[0] == Param{Key: "slot", Type: "integer", Value: "7"}
		}},
		{"/~scheduler@1.0/schedule", "target=PID&from=1&limit=2&n+integer=3", "", func(p *Path) bool {
			return len(p.Query) == 4 && p.Query[0].Value == "PID" && p.Query[3] == Param{Key: "n", Type: "integer", Value: "3"}
		}},
		{"/a%2Fb&k=x%26y%3Dz", "", "", func(p *Path) bool {
			return len(p.Segments) == 1 && p.Segments[0].Key == "a/b" && p.Segments[0].Params[0].Value == "x&y=z"
		}},
		{"/(/~meta@1.0/info)/address&k=(x/y)", "", "", func(p *Path) bool {
			return p.Segments[0].Sub != nil && p.Segments[0].Sub.Segments[0].Device == "meta@1.0" && p.Segments[1].Params[0].Sub != nil
		}},
		{"/PID/slot/current/", "", "/PID/slot/current", nil},
		{"/", "", "/", func(p *Path) bool { return len(p.Segments) == 0 }},
	} {
		p, err := ParsePath(c.path, c.query)
		if err != nil {
			t.Errorf("%s?%s: %v", c.path, c.query, err)
			continue
		}
		if c.want != "" && p.String() != c.want {
			t.Errorf("%s: rendered %q, want %q", c.path, p.String(), c.want)
		}
		if c.check != nil && !c.check(p) {
			t.Errorf("%s?%s: parsed %+v", c.path, c.query, p)
		}
	}
	for _, bad := range []string{
		"//x", "/a~", "/a~process", "/a~@1.0", "/a~p@", "/(a", "/a)", "/(a)b", "/a(b)", "/&k=v", "/a&=v", "/a&k+=1",
		"/a%zz", "/" + strings.Repeat("a/", MaxSegments+1), "/a" + strings.Repeat("&k=v", MaxParams+1),
		"/" + strings.Repeat("(", MaxDepth+2) + "a" + strings.Repeat(")", MaxDepth+2), "/" + strings.Repeat("x", MaxPathBytes),
	} {
		if p, err := ParsePath(bad, ""); err == nil {
			t.Errorf("%q parsed as %s", bad, p)
		} else if _, ok := err.(*PathError); !ok {
			t.Errorf("%q: error %T %v is not a PathError", bad, err, err)
		}
	}
}

// FuzzParsePath: any input parses or is refused with a PathError, within the limits; a parse renders to a path
// that parses to the same thing.
func FuzzParsePath(f *testing.F) {
	for _, s := range []string{"/~meta@1.0/info", "/P~process@1.0/compute/results=5", "/P/as=execution/compute&A=B",
		"/(/a/b)/c&k+integer=1&j=(x)", "/a%2F&b=%26"} {
		f.Add(s, "target=P&from=1")
	}
	f.Fuzz(func(t *testing.T, path, query string) {
		p, err := ParsePath(path, query)
		if err != nil {
			if _, ok := err.(*PathError); !ok {
				t.Fatalf("error %T: %v", err, err)
			}
			return
		}
		if n := countSegments(p); n > MaxSegments {
			t.Fatalf("%d segments", n)
		}
		s := p.String()
		if len(s) > MaxPathBytes {
			return // escaping grew it past the limit: the round trip would be refused for its size
		}
		ep, rq, _ := strings.Cut(s, "?")
		p2, err := ParsePath(ep, rq)
		if err != nil {
			t.Fatalf("rendered %q does not parse: %v", s, err)
		}
		if !reflect.DeepEqual(norm(p), norm(p2)) {
			t.Fatalf("round trip of %q?%q via %q:\n%+v\n%+v", path, query, s, p, p2)
		}
	})
}

func countSegments(p *Path) int {
	n := len(p.Segments)
	for _, s := range p.Segments {
		if s.Sub != nil {
			n += countSegments(s.Sub)
		}
		for _, q := range s.Params {
			if q.Sub != nil {
				n += countSegments(q.Sub)
			}
		}
	}
	return n
}

// norm makes nil and empty slices equal for comparison.
func norm(p *Path) *Path {
	if p == nil {
		return nil
	}
	out := &Path{}
	for _, s := range p.Segments {
		s.Sub = norm(s.Sub)
		var ps []Param
		for _, q := range s.Params {
			q.Sub = norm(q.Sub)
			ps = append(ps, q)
		}
		s.Params = ps
		out.Segments = append(out.Segments, s)
	}
	out.Query = append(out.Query, p.Query...)
	return out
}
