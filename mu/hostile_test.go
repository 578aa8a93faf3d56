package mu_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/mu/mutest"
	"github.com/aogo/aogo/vm"
	"github.com/aogo/aogo/wallet"
)

// The hostile-client suite (MU): each test is an attack, driven the way an attacker would drive it.

// signedBy signs an item with w (not the harness's user).
func signedBy(t testing.TB, w dataitem.Signer, target string, tags ...dataitem.Tag) []byte {
	t.Helper()
	anchor, _ := dataitem.DecodeB64(mutest.RandomID())
	it := &dataitem.Item{Tags: tags, Anchor: anchor}
	if target != "" {
		it.Target, _ = dataitem.DecodeB64(target)
	}
	if err := it.Sign(w); err != nil {
		t.Fatal(err)
	}
	raw, err := it.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestHostileUnmonitorByStranger: anyone could stop anyone's cron with DELETE /monitor/{pid} and any signed
// item. A stranger now gets 403 with a JSON error and the cron keeps running; the owner, and the process itself
// (an item this MU pushed for it), may stop it.
func TestHostileUnmonitorByStranger(t *testing.T) {
	h := newHarness(t, nil)
	h.net.Module("ticker", func(p *mutest.Process, m mutest.Msg) vm.Result { return vm.Result{} })
	h.net.Module("sink", func(p *mutest.Process, m mutest.Msg) vm.Result { return vm.Result{} })
	sink := h.spawn("sink")
	ticks := 0
	tick := func(tk string) {
		ticks++
		i := ticks
		h.net.AddCron(tk, func(p *mutest.Process) vm.Result {
			return vm.Result{Messages: []json.RawMessage{p.Send(sink, fmt.Sprint("tick", i))}}
		})
	}
	monitor := func(tk string) {
		_, sub := h.signed(tk, "", aoTags("Message")...)
		if code, body := h.do(http.MethodPost, h.srv.URL+"/monitor/"+tk, sub); code != 200 {
			t.Fatalf("monitor: %d %v", code, body)
		}
	}
	unmonitor := func(tk string, raw []byte) (int, map[string]any) {
		return h.do(http.MethodDelete, h.srv.URL+"/monitor/"+tk, raw)
	}
	delivered := func() int { return len(h.messages(sink)) }

	stranger, _ := wallet.Generate(wallet.ED25519)
	tk := h.spawn("ticker")
	h.waitIdle()
	monitor(tk)
	tick(tk)
	waitFor(t, func() bool { return delivered() == 1 })

	// The attack: a stranger's signed item, and the stranger claiming to be the process.
	for name, raw := range map[string][]byte{
		"stranger":              signedBy(t, stranger, tk, aoTags("Message")...),
		"stranger as a process": signedBy(t, stranger, tk, aoTags("Message", tag("From-Process", tk))...),
	} {
		code, body := unmonitor(tk, raw)
		if code != http.StatusForbidden || !strings.Contains(fmt.Sprint(body["error"]), "owner") {
			t.Fatalf("%s: DELETE /monitor = %d %v, want 403 with a JSON error", name, code, body)
		}
	}
	tick(tk)
	waitFor(t, func() bool { return delivered() == 2 }) // the cron still runs

	// The owner may stop it.
	_, own := h.signed(tk, "", aoTags("Message")...)
	if code, body := unmonitor(tk, own); code != 200 || body["text"] != "Process deleted" {
		t.Fatalf("owner's unmonitor: %d %v", code, body)
	}
	tick(tk)
	time.Sleep(50 * time.Millisecond)
	if n := delivered(); n != 2 {
		t.Fatalf("sink got %d after the owner's unmonitor, want 2", n)
	}

	// So may the process itself: its messages leave only as items this MU signs, with From-Process.
	tk2 := h.spawn("ticker")
	h.waitIdle()
	monitor(tk2)
	self := signedBy(t, h.muKey, tk2, aoTags("Message", tag("From-Process", tk2))...)
	if code, body := unmonitor(tk2, self); code != 200 || body["text"] != "Process deleted" {
		t.Fatalf("the process's own unmonitor: %d %v", code, body)
	}
}
