package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aogo/aogo/client"
	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/devnet"
	"github.com/aogo/aogo/gateway"
	"github.com/aogo/aogo/internal/testenv"
	"github.com/aogo/aogo/wallet"
)

// runUnitInProcess runs `aogo UNIT --listen 127.0.0.1:0 ARGS…` through run() until the test ends and returns
// the listen address and the unit's wallet address from its "listening on ADDR address ADDRESS" line.
func runUnitInProcess(t *testing.T, unit string, args ...string) (addr, address string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &testenv.SyncBuffer{}
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{unit, "--listen", "127.0.0.1:0"}, args...), pw, logs)
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("aogo %s exited %d", unit, code)
		}
		if t.Failed() {
			t.Logf("aogo %s log:\n%s", unit, logs.String())
		}
	})
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "listening on ") {
				line <- sc.Text()
			}
		}
	}()
	select {
	case l := <-line:
		_, rest, _ := strings.Cut(l, "listening on ")
		addr, rest, _ = strings.Cut(rest, " ")
		_, address, _ = strings.Cut(rest, "address ")
		return addr, strings.TrimSpace(address)
	case code := <-done:
		done <- code
		t.Fatalf("aogo %s exited %d before listening:\n%s", unit, code, logs.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("aogo %s did not start:\n%s", unit, logs.String())
	}
	return "", ""
}

// eventually retries f until it returns nil or the time is up.
func eventually(t *testing.T, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// TestUnitsOnArlocal runs the units against arlocal, a real local Arweave node, as a user would: `aogo su
// --gateway ARLOCAL` publishes its Scheduler-Location there and uploads every process, message and assignment
// as base-layer transactions signed by its RSA wallet; `aogo cu --gateway ARLOCAL` (no --su) finds the SU
// through arlocal's GraphQL and loads the aos module from arlocal; `aogo mu` cranks a spawn and an Eval to a
// real result.
func TestUnitsOnArlocal(t *testing.T) {
	arlocal := testenv.Arlocal(t)
	ctx := context.Background()
	hc := &http.Client{Timeout: time.Minute}
	suWallet := filepath.Join(testenv.RepoRoot(), "dataitem", "testdata", "arweave-wallet.json")
	muWallet := filepath.Join(testenv.RepoRoot(), "gateway", "testdata", "arweave-wallet.json")
	for _, p := range []string{suWallet, muWallet} {
		w, err := wallet.Load(p)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := hc.Get(arlocal + "/mint/" + w.Address() + "/1000000000000000")
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("mint: %v %v", resp, err)
		}
		resp.Body.Close()
	}

	// Publish the aos module to arlocal, signed by a user and carried by a funded RSA wallet.
	user, err := wallet.Generate(wallet.ED25519)
	if err != nil {
		t.Fatal(err)
	}
	publisher, err := wallet.Load(muWallet)
	if err != nil {
		t.Fatal(err)
	}
	gw := gateway.NewClient(arlocal, hc)
	gw.Signer = publisher
	mod, err := devnet.AosModule().Item(user)
	if err != nil {
		t.Fatal(err)
	}
	if uploaded, err := devnet.Publish(ctx, gw, mod); err != nil || !uploaded {
		t.Fatalf("publish module: %v %v", uploaded, err)
	}

	suAddr, scheduler := runUnitInProcess(t, "su", "--data", t.TempDir(), "--wallet", suWallet, "--gateway", arlocal)
	suURL := "http://" + suAddr
	eventually(t, "Scheduler-Location on arlocal", func() error {
		u, _, err := gw.SchedulerLocation(ctx, scheduler)
		if err == nil && u != suURL {
			t.Fatalf("Scheduler-Location Url %q, want %q", u, suURL)
		}
		return err
	})
	cuAddr, _ := runUnitInProcess(t, "cu", "--data", t.TempDir(), "--gateway", arlocal)
	muAddr, muAddress := runUnitInProcess(t, "mu", "--data", t.TempDir(), "--wallet", muWallet, "--cu", "http://"+cuAddr, "--gateway", arlocal)

	user1 := &devnet.Client{
		Info: devnet.Info{
			MU: "http://" + muAddr, CU: "http://" + cuAddr, SU: suURL, Gateway: arlocal,
			Scheduler: scheduler, Module: mod.ID(),
		},
		Authority: muAddress, Wallet: user, HTTP: hc, CU: client.NewCU("http://"+cuAddr, hc), Gateway: gw,
	}
	pid, err := user1.Spawn(ctx, devnet.Spawn{Tags: []dataitem.Tag{{Name: "Name", Value: "arlocal-test"}}})
	if err != nil {
		t.Fatalf("spawn: %v", err)
	}
	mid, err := user1.Send(ctx, pid, []dataitem.Tag{{Name: "Action", Value: "Eval"}}, []byte("return 6 * 7"))
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	var out string
	eventually(t, "result of the Eval", func() error {
		res, err := user1.Result(ctx, pid, mid)
		if err == nil {
			out = devnet.OutputText(res.Result)
		}
		return err
	})
	if out != "42" {
		t.Fatalf("Eval output %q, want 42", out)
	}

	// The SU's uploads landed in arlocal: the process, the message and an assignment for each.
	eventually(t, "process, message and assignments on arlocal", func() error {
		page, err := gw.Transactions(ctx, gateway.TxQuery{IDs: []string{pid, mid}, First: 2})
		if err != nil {
			return err
		}
		if len(page.Edges) != 2 {
			return fmt.Errorf("%d of the process and message so far", len(page.Edges))
		}
		page, err = gw.Transactions(ctx, gateway.TxQuery{
			Owners: []string{scheduler},
			Tags:   []gateway.TagFilter{{Name: "Type", Values: []string{"Assignment"}}, {Name: "Process", Values: []string{pid}}},
			First:  10,
		})
		if err != nil {
			return err
		}
		if len(page.Edges) != 2 {
			return fmt.Errorf("%d assignments so far, want 2", len(page.Edges))
		}
		return nil
	})
	// Once mined, they are in a block.
	resp, err := hc.Get(arlocal + "/mine")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	tx, err := gw.Transaction(ctx, mid)
	if err != nil || tx.Block == nil {
		t.Fatalf("message after mining: %+v %v", tx, err)
	}
}
