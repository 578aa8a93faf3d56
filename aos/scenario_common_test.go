package aos

// Shared parts of the scenario suite (format in aos/README.md): scenario types, building the msg/env
// objects a CU hands to the module (buildCalls), the per-step checks (checkStep), the cross-module
// comparison (observable, checkSuite). The runners are scenario_test.go (@permaweb/ao-loader under node)
// and scenario_vm_test.go (our VM, in-process and through the aogo run binary).

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/aogo/aogo/internal/testenv"
)

type tag struct {
	Name  string `json:"name"`
	Value any    `json:"value"`
}

type scenario struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Process     struct {
		Id          string `json:"Id"`
		Owner       string `json:"Owner"`
		Module      string `json:"Module"`
		Tags        []tag  `json:"Tags"`
		Data        string `json:"Data"`
		Timestamp   int64  `json:"Timestamp"`
		BlockHeight int64  `json:"Block-Height"`
	} `json:"process"`
	Steps []step `json:"steps"`
	Bench string `json:"bench"`
}

type step struct {
	Name        string  `json:"name"`
	Process     bool    `json:"process"`
	Id          string  `json:"Id"`
	Owner       string  `json:"Owner"`
	FromProcess string  `json:"From-Process"`
	Target      string  `json:"Target"`
	Action      string  `json:"Action"`
	Tags        []tag   `json:"Tags"`
	Data        *string `json:"Data"`
	DataFile    string  `json:"DataFile"`
	Cron        bool    `json:"Cron"`
	Expect      expect  `json:"expect"`
	// CU replaces Expect for runners that drop the state of a failed message as a CU does (our VM, the
	// reference CU). ao-loader alone keeps whatever the failed message changed, and so do its runners here.
	CU *expect `json:"cu"`
	// onKey is the process a multi-process scenario step runs on (not part of the JSON).
	onKey string
	// Differs names reference modules whose result for this step legitimately differs from ours
	// (module name -> reason); the cross-module comparison skips them.
	Differs map[string]string `json:"differs"`
}

type expect struct {
	Error       any               `json:"error"` // false, true, or a substring of the error
	Output      []string          `json:"output"`
	NotOutput   []string          `json:"notOutput"`
	Messages    *[]msgExpect      `json:"messages"`
	Spawns      *[]msgExpect      `json:"spawns"`
	Assignments *[]map[string]any `json:"assignments"`
}

type msgExpect struct {
	Target       *string           `json:"Target"`
	Data         *string           `json:"Data"`
	DataContains string            `json:"DataContains"`
	Anchor       string            `json:"Anchor"`
	Tags         map[string]string `json:"Tags"`
	NoTags       []string          `json:"NoTags"`
}

type call struct {
	Name string         `json:"name"`
	Msg  map[string]any `json:"msg"`
}

type calls struct {
	Name  string         `json:"name"`
	Env   map[string]any `json:"env"`
	Calls []call         `json:"calls"`
	Bench string         `json:"bench,omitempty"`
}

func loadScenario(path string) (*scenario, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var sc scenario
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &sc, nil
}

// fakeID returns a deterministic 43-character base64url id.
func fakeID(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "/")))
	return base64.RawURLEncoding.EncodeToString(sum[:])[:43]
}

func hasTag(tags []tag, name string) bool {
	for _, t := range tags {
		if t.Name == name {
			return true
		}
	}
	return false
}

// buildCalls turns a scenario into the env and msg objects a CU would hand to the module.
func buildCalls(sc *scenario, dir string) (*calls, error) {
	p := sc.Process
	if p.Id == "" {
		p.Id = fakeID(sc.Name, "process")
	}
	if p.Owner == "" {
		p.Owner = fakeID("owner")
	}
	if p.Module == "" {
		p.Module = fakeID("module")
	}
	if p.Timestamp == 0 {
		p.Timestamp = 1700000000000
	}
	if p.BlockHeight == 0 {
		p.BlockHeight = 1500000
	}
	ptags := []tag{
		{"Data-Protocol", "ao"}, {"Variant", "ao.TN.1"}, {"Type", "Process"},
		{"Module", p.Module}, {"Scheduler", fakeID("scheduler")},
	}
	ptags = append(ptags, p.Tags...)
	env := map[string]any{
		"Process": map[string]any{"Id": p.Id, "Owner": p.Owner, "Tags": ptags},
		"Module": map[string]any{"Id": p.Module, "Owner": fakeID("module-owner"), "Tags": []tag{
			{"Data-Protocol", "ao"}, {"Type", "Module"}, {"Module-Format", Format},
			{"Input-Encoding", "JSON-1"}, {"Output-Encoding", "JSON-1"},
		}},
	}
	out := &calls{Name: sc.Name, Env: env, Bench: sc.Bench}
	steps := sc.Steps
	if len(steps) == 0 || !steps[0].Process {
		steps = append([]step{{Name: "spawn", Process: true}}, steps...)
	}
	nonce := 0
	for i, s := range steps {
		ts := p.Timestamp + int64(i)*1000
		bh := p.BlockHeight + int64(i)
		var msg map[string]any
		switch {
		case s.Process:
			if i != 0 {
				return nil, fmt.Errorf("step %q: only the first step can be the Process message", s.Name)
			}
			from := p.Owner
			for _, t := range p.Tags {
				if t.Name == "From-Process" {
					from = fmt.Sprint(t.Value)
				}
			}
			msg = map[string]any{
				"Id": p.Id, "Signature": fakeID("sig", p.Id), "Owner": p.Owner, "From": from,
				"Target": p.Id, "Anchor": "", "Tags": ptags, "Data": p.Data,
				"Epoch": 0, "Nonce": nonce, "Timestamp": ts, "Block-Height": bh,
				"Hash-Chain": fakeID("hash-chain", p.Id), "Cron": false, "Read-Only": false,
			}
			nonce++
		case s.Cron:
			msg = map[string]any{
				"Owner": p.Owner, "From": p.Owner, "Target": p.Id, "Tags": stepTags(s, false),
				"Timestamp": ts, "Block-Height": bh, "Cron": true,
			}
		default:
			var err error
			if msg, err = userMsg(sc.Name, p.Id, p.Owner, s, i, nonce, ts, bh, dir); err != nil {
				return nil, err
			}
			nonce++
		}
		name := s.Name
		if name == "" {
			name = fmt.Sprintf("step%d", i)
		}
		out.Calls = append(out.Calls, call{Name: name, Msg: msg})
	}
	return out, nil
}

// userMsg builds step i of a scenario as a user (or, with From-Process, a pushed) message to process pID,
// as the CU's mapNode does.
func userMsg(scName, pID, pOwner string, s step, i, nonce int, ts, bh int64, dir string) (map[string]any, error) {
	id := s.Id
	if id == "" {
		id = fakeID(scName, "msg", fmt.Sprint(i))
	}
	owner := s.Owner
	if owner == "" {
		owner = pOwner
	}
	data := ""
	if s.Data != nil {
		data = *s.Data
	}
	if s.DataFile != "" {
		b, err := os.ReadFile(filepath.Join(dir, s.DataFile))
		if err != nil {
			return nil, fmt.Errorf("step %q: %w", s.Name, err)
		}
		data = string(b)
	}
	target := pID
	if s.Target != "" {
		target = s.Target
	}
	tags := stepTags(s, true)
	msg := map[string]any{
		"Id": id, "Signature": fakeID("sig", id), "Owner": owner, "From": owner,
		"Target": target, "Anchor": "", "Tags": tags, "Data": data,
		"Epoch": 0, "Nonce": nonce, "Timestamp": ts, "Block-Height": bh,
		"Hash-Chain": fakeID("hash-chain", id), "Cron": false, "Read-Only": false,
	}
	if s.FromProcess != "" {
		msg["From"] = s.FromProcess
		msg["Forwarded-By"] = owner
	}
	return msg, nil
}

// stepTags: Data-Protocol/Variant/Type (unless cron), From-Process, Action, then the step's tags; the CU
// strips tags named From and Owner.
func stepTags(s step, protocol bool) []tag {
	var tags []tag
	if protocol {
		tags = append(tags, tag{"Data-Protocol", "ao"}, tag{"Variant", "ao.TN.1"}, tag{"Type", "Message"})
	}
	if s.FromProcess != "" {
		tags = append(tags, tag{"From-Process", s.FromProcess})
	}
	if s.Action != "" {
		tags = append(tags, tag{"Action", s.Action})
	}
	for _, t := range s.Tags {
		if t.Name == "From" || t.Name == "Owner" {
			continue
		}
		tags = append(tags, t)
	}
	return tags
}

// stepResult is one line of runner output (one handle call).
type stepResult struct {
	Name        string           `json:"name"`
	Output      any              `json:"Output"`
	Error       any              `json:"Error"`
	Thrown      bool             `json:"Thrown"`
	Messages    []map[string]any `json:"Messages"`
	Spawns      []map[string]any `json:"Spawns"`
	Assignments []map[string]any `json:"Assignments"`
	Ms          float64          `json:"ms"`
}

type scenarioResult struct {
	Scenario string       `json:"scenario"`
	Steps    []stepResult `json:"steps"`
	Bench    *struct {
		Step     string  `json:"step"`
		N        int     `json:"n"`
		MedianMs float64 `json:"median_ms"`
		MinMs    float64 `json:"min_ms"`
	} `json:"bench"`
}

// module is one wasm module under test.
type module struct {
	name, path, format string
	nodeFlags          []string
}

func modules(t testing.TB) (ours module, refs []module) {
	ours = module{name: "aogo", path: "aos.wasm", format: Format}
	refs = []module{
		{name: "aos2_0_4_32", path: testenv.WaoModule(t, "aos2_0_4_32"), format: "wasm32-unknown-emscripten4"},
		{name: "aos2_0_6", path: testenv.WaoModule(t, "aos2_0_6"), format: "wasm64-unknown-emscripten-draft_2024_02_15",
			nodeFlags: []string{"--experimental-wasm-memory64"}},
	}
	return ours, refs
}

var (
	ansiRE     = regexp.MustCompile("\x1b\\[[0-9;]*m")
	chunkRE    = regexp.MustCompile(`\[string "([^"]+)"\]:\d+:`)
	addrRE     = regexp.MustCompile(`0x[0-9a-f]+`)
	tracebakRE = regexp.MustCompile(`(?s)stack traceback:.*?(\n\n|$)`)
	// aos 2.0.4 prints this after any message that failed (its Nonce is not advanced); 2.0.6 dropped it
	nonceWarnRE = regexp.MustCompile("\x1b\\[31mWARNING: Nonce did not match[^\n]*\n\n?")
)

func outputData(r *stepResult) string {
	o, ok := r.Output.(map[string]any)
	if !ok {
		if s, ok := r.Output.(string); ok {
			return s
		}
		return ""
	}
	switch d := o["data"].(type) {
	case string:
		return d
	case nil:
		return ""
	default:
		b, _ := json.Marshal(d)
		return string(b)
	}
}

func errorText(r *stepResult) string {
	switch e := r.Error.(type) {
	case nil:
		return ""
	case string:
		return e
	default:
		b, _ := json.Marshal(e)
		return string(b)
	}
}

func tagMap(m map[string]any) map[string]string {
	out := map[string]string{}
	tags, _ := m["Tags"].([]any)
	for _, x := range tags {
		t, _ := x.(map[string]any)
		name := fmt.Sprint(t["name"])
		if _, seen := out[name]; !seen {
			out[name] = fmt.Sprint(t["value"])
		}
	}
	return out
}

func checkStep(t *testing.T, mod, where string, s step, r *stepResult) {
	t.Helper()
	e := s.Expect
	errText := errorText(r)
	switch want := e.Error.(type) {
	case nil:
		if errText != "" {
			t.Errorf("%s %s: unexpected error: %q", mod, where, errText)
		}
	case bool:
		if want != (errText != "") {
			t.Errorf("%s %s: error = %q, want error %v", mod, where, errText, want)
		}
	case string:
		if !strings.Contains(ansiRE.ReplaceAllString(errText, ""), want) {
			t.Errorf("%s %s: error %q does not contain %q", mod, where, errText, want)
		}
	}
	data := ansiRE.ReplaceAllString(outputData(r), "")
	for _, w := range e.Output {
		if !strings.Contains(data, w) {
			t.Errorf("%s %s: Output.data %q does not contain %q", mod, where, data, w)
		}
	}
	for _, w := range e.NotOutput {
		if strings.Contains(data, w) {
			t.Errorf("%s %s: Output.data %q contains %q", mod, where, data, w)
		}
	}
	checkMsgs := func(kind string, got []map[string]any, want *[]msgExpect) {
		if want == nil {
			return
		}
		if len(got) != len(*want) {
			t.Errorf("%s %s: %d %s, want %d: %v", mod, where, len(got), kind, len(*want), got)
			return
		}
		for i, w := range *want {
			g := got[i]
			tags := tagMap(g)
			if w.Target != nil && fmt.Sprint(g["Target"]) != *w.Target {
				t.Errorf("%s %s: %s[%d].Target = %v, want %s", mod, where, kind, i, g["Target"], *w.Target)
			}
			gd := ansiRE.ReplaceAllString(fmt.Sprint(g["Data"]), "")
			if g["Data"] == nil {
				gd = ""
			}
			if w.Data != nil && gd != *w.Data {
				t.Errorf("%s %s: %s[%d].Data = %q, want %q", mod, where, kind, i, gd, *w.Data)
			}
			if w.DataContains != "" && !strings.Contains(gd, w.DataContains) {
				t.Errorf("%s %s: %s[%d].Data = %q, want it to contain %q", mod, where, kind, i, gd, w.DataContains)
			}
			if w.Anchor != "" && fmt.Sprint(g["Anchor"]) != w.Anchor {
				t.Errorf("%s %s: %s[%d].Anchor = %v, want %s", mod, where, kind, i, g["Anchor"], w.Anchor)
			}
			for k, v := range w.Tags {
				if gv, ok := tags[k]; !ok || gv != v {
					t.Errorf("%s %s: %s[%d] tag %s = %q (present %v), want %q", mod, where, kind, i, k, gv, ok, v)
				}
			}
			for _, k := range w.NoTags {
				if _, ok := tags[k]; ok {
					t.Errorf("%s %s: %s[%d] has tag %s", mod, where, kind, i, k)
				}
			}
		}
	}
	checkMsgs("Messages", r.Messages, e.Messages)
	checkMsgs("Spawns", r.Spawns, e.Spawns)
	if e.Assignments != nil {
		g, _ := json.Marshal(r.Assignments)
		w, _ := json.Marshal(*e.Assignments)
		if len(r.Assignments) == 0 && len(*e.Assignments) == 0 {
			return
		}
		if !bytes.Equal(g, w) {
			t.Errorf("%s %s: Assignments = %s, want %s", mod, where, g, w)
		}
	}
}

// observable is the part of a result compared across modules: error or not and its text, Output.data,
// and the outbox with tags sorted (aos emits custom tags in table order). Line numbers of Lua chunks,
// addresses and tracebacks are masked: they depend on how each module lays out its Lua sources.
func observable(r *stepResult) string {
	mask := func(s string) string {
		s = nonceWarnRE.ReplaceAllString(s, "")
		s = chunkRE.ReplaceAllString(s, `[string "$1"]:N:`)
		s = tracebakRE.ReplaceAllString(s, "stack traceback: ...$1")
		return addrRE.ReplaceAllString(s, "0xADDR")
	}
	msgs := func(list []map[string]any) []string {
		var out []string
		for _, m := range list {
			tags := tagMap(m)
			var kv []string
			for k, v := range tags {
				kv = append(kv, k+"="+v)
			}
			sort.Strings(kv)
			data := fmt.Sprint(m["Data"])
			var obj map[string]any // JSON objects: key order follows Lua table order, compare them sorted
			if err := json.Unmarshal([]byte(data), &obj); err == nil {
				b, _ := json.Marshal(obj)
				data = string(b)
			}
			out = append(out, fmt.Sprintf("Target=%v Anchor=%v Data=%q Tags=[%s]", m["Target"], m["Anchor"], data, strings.Join(kv, " ")))
		}
		return out
	}
	var b strings.Builder
	fmt.Fprintf(&b, "error: %q\n", mask(errorText(r)))
	fmt.Fprintf(&b, "output: %q\n", mask(outputData(r)))
	if errorText(r) == "" {
		for _, m := range msgs(r.Messages) {
			fmt.Fprintf(&b, "message: %s\n", m)
		}
		for _, m := range msgs(r.Spawns) {
			fmt.Fprintf(&b, "spawn: %s\n", m)
		}
		a, _ := json.Marshal(r.Assignments)
		if len(r.Assignments) > 0 {
			fmt.Fprintf(&b, "assignments: %s\n", a)
		}
	}
	return b.String()
}

func scenarioFiles(t *testing.T) []string {
	files, err := filepath.Glob(filepath.Join("testdata", "scenarios", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios: %v", err)
	}
	return files
}

// writeCalls builds every scenario's calls file into dir.
func writeCalls(t *testing.T, dir string) ([]*scenario, []string) {
	var scs []*scenario
	var paths []string
	for _, f := range scenarioFiles(t) {
		sc, err := loadScenario(f)
		if err != nil {
			t.Fatal(err)
		}
		c, err := buildCalls(sc, filepath.Dir(f))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.Base(f))
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		scs = append(scs, sc)
		paths = append(paths, p)
	}
	return scs, paths
}

// checkSuite checks every module's results against the scenarios' expectations and compares the
// observable results of all[0] (ours) with each other module's. results[i] holds all[i]'s results keyed by
// scenario name. Every runner (ao-loader, our VM in-process, the aogo run binary) ends here. rollback says
// the runner drops the state of failed messages as a CU does (then a step's "cu" expectations apply).
func checkSuite(t *testing.T, scs []*scenario, all []module, results []map[string]*scenarioResult, rollback bool) {
	t.Helper()
	for _, sc := range scs {
		t.Run(sc.Name, func(t *testing.T) {
			steps := sc.Steps
			if len(steps) == 0 || !steps[0].Process {
				steps = append([]step{{Name: "spawn", Process: true}}, steps...)
			}
			for mi, m := range all {
				r := results[mi][sc.Name]
				if r == nil || len(r.Steps) != len(steps) {
					t.Fatalf("%s: no result or wrong step count for %s", m.name, sc.Name)
				}
				for i, s := range steps {
					if _, ok := s.Differs[m.name]; ok {
						continue // expectations describe aos 2.0.6 / aogo behaviour; see the reason logged below
					}
					if rollback && s.CU != nil {
						s.Expect = *s.CU
					}
					checkStep(t, m.name, fmt.Sprintf("step %d (%s)", i, r.Steps[i].Name), s, &r.Steps[i])
				}
			}
			// cross-module comparison: ours against each reference
			for mi, m := range all[1:] {
				rr := results[mi+1][sc.Name]
				or := results[0][sc.Name]
				for i, s := range steps {
					if reason, ok := s.Differs[m.name]; ok {
						t.Logf("step %d (%s): not compared with %s: %s", i, s.Name, m.name, reason)
						continue
					}
					if a, b := observable(&or.Steps[i]), observable(&rr.Steps[i]); a != b {
						t.Errorf("step %d (%s): aogo and %s differ\n--- aogo\n%s--- %s\n%s", i, or.Steps[i].Name, m.name, a, m.name, b)
					}
				}
			}
		})
	}
}
