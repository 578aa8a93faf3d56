package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aogo/aogo/wallet"
)

// TestMonitorVerbs: what a process's cron ticks send reaches its target once `aogo monitor` registers the
// process with the MU; `aogo unmonitor` is refused to a stranger's wallet, accepted from the owner's, and
// says so when the process is not monitored any more.
func TestMonitorVerbs(t *testing.T) {
	dir := t.TempDir()
	info := startDev(t, dir)
	url := strings.TrimSuffix(info.MU, "/mu")
	notes := strings.TrimSpace(devRun(t, url, dir, "spawn"))
	devRun(t, url, dir, "eval", notes, `Ticks = 0; Handlers.add('note', 'Tick-Note', function(m) Ticks = Ticks + 1 end); return 'ok'`)
	ticker := strings.TrimSpace(devRun(t, url, dir, "spawn", "--tag", "Cron-Interval=1-second", "--tag", "Cron-Tag-Action=Cron"))
	devRun(t, url, dir, "eval", ticker, fmt.Sprintf(`Handlers.add('cron', 'Cron', function(m) Send({Target = %q, Action = 'Tick-Note'}) end); return 'ok'`, notes))

	if out := devRun(t, url, dir, "monitor", ticker); strings.TrimSpace(out) != "Monitoring process" {
		t.Fatalf("aogo monitor printed %q", out)
	}
	eventually(t, "a cron message delivered", func() error {
		if got := strings.TrimSpace(devRun(t, url, dir, "eval", notes, "return Ticks")); got == "0" {
			return fmt.Errorf("no Tick-Note yet")
		}
		return nil
	})

	stranger := filepath.Join(t.TempDir(), "stranger.json")
	other, err := wallet.Generate(wallet.ED25519)
	if err == nil {
		err = other.Save(stranger)
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, e, c := devRunCode(url, dir, "unmonitor", ticker, "--wallet", stranger); c != 1 || !strings.Contains(e, "403") || !strings.Contains(e, "only the owner") {
		t.Fatalf("unmonitor by a stranger: exit %d %s", c, e)
	}
	if out := devRun(t, url, dir, "unmonitor", ticker); strings.TrimSpace(out) != "Process deleted" {
		t.Fatalf("aogo unmonitor printed %q", out)
	}
	if _, e, c := devRunCode(url, dir, "unmonitor", ticker); c != 1 || !strings.Contains(e, "not monitored") {
		t.Fatalf("second unmonitor: exit %d %s", c, e)
	}
	if _, e, c := devRunCode(url, dir, "monitor", "nope"); c != 1 || !strings.Contains(e, "not a process id") {
		t.Fatalf("monitor nope: exit %d %s", c, e)
	}
}
