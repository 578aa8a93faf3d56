package devnet_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aogo/aogo/ao"
	"github.com/aogo/aogo/client"
	"github.com/aogo/aogo/cu"
	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/devnet"
	"github.com/aogo/aogo/quorum"
)

// TestQuorumCUs: a network with three CUs (aogo dev --cus 3) lists them, each signs with its own key, a
// process tagged Compute-Quorum: 2-of-3 is cranked on their agreement (a ping to a second process arrives),
// and a process asking for more CUs than the network has is refused.
func TestQuorumCUs(t *testing.T) {
	n := startNetConfig(t, devnet.Config{Dir: t.TempDir(), CUs: 3})
	info := n.Info()
	if len(info.CUs) != 3 || info.CUs[0] != info.CU {
		t.Fatalf("Info.CUs = %v", info.CUs)
	}
	ctx := context.Background()
	signers := map[string]bool{}
	for _, u := range info.CUs {
		ci, err := client.NewCU(u, n.HTTPClient()).Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		signers[ci.Address] = true
	}
	if len(signers) != 3 {
		t.Fatalf("CU addresses %v: want three different keys", signers)
	}

	c := userClient(t, n)
	b, err := c.Spawn(ctx, devnet.Spawn{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Eval(ctx, b, `Pings = 0; Handlers.add("ping", "Ping", function(msg) Pings = Pings + 1 end)`); err != nil {
		t.Fatal(err)
	}
	a, err := c.Spawn(ctx, devnet.Spawn{Tags: []dataitem.Tag{{Name: quorum.Tag, Value: "2-of-3"}}})
	if err != nil {
		t.Fatal(err)
	}
	mid, err := c.Send(ctx, a, []dataitem.Tag{{Name: "Action", Value: "Eval"}}, []byte(`ao.send({Target = "`+b+`", Action = "Ping"})`))
	if err != nil {
		t.Fatal(err)
	}
	// Every CU computes the same result and signs it with its own key.
	hashes := map[string]bool{}
	for _, u := range info.CUs {
		r, err := client.NewCU(u, n.HTTPClient()).Result(ctx, a, mid)
		if err != nil {
			t.Fatal(err)
		}
		att, err := ao.VerifyAttestation(r.Attestation, r.Body)
		if err != nil || !signers[att.Unit] {
			t.Fatalf("attestation of %s: %+v %v", u, att, err)
		}
		hashes[att.ResultHash] = true
	}
	if len(hashes) != 1 {
		t.Fatalf("the CUs disagree: %v", hashes)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		d, err := c.DryRun(ctx, b, []dataitem.Tag{{Name: "Action", Value: "Eval"}}, "return Pings")
		if err != nil {
			t.Fatal(err)
		}
		if devnet.OutputText(d) == "1" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the ping of a 2-of-3 process never arrived: Pings = %q", devnet.OutputText(d))
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The MU pulls the spawn's (boot) result and the Eval's concurrently: the ping proves the Eval's agreement,
	// not that the boot's has been counted yet.
	for {
		req, _ := http.NewRequest(http.MethodGet, info.MU+"/", nil)
		req.Header.Set("Authorization", "Bearer "+n.OperatorToken())
		resp, err := n.HTTPClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var st struct {
			Quorum struct {
				CUs    int
				Agreed int
				Open   []any
			}
		}
		json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		if st.Quorum.CUs == 3 && st.Quorum.Agreed >= 2 && len(st.Quorum.Open) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("MU quorum status %+v: want the boot and the ping results agreed", st.Quorum)
		}
		time.Sleep(20 * time.Millisecond)
	}

	if _, err := c.Spawn(ctx, devnet.Spawn{Tags: []dataitem.Tag{{Name: quorum.Tag, Value: "3-of-4"}}}); err == nil ||
		!strings.Contains(err.Error(), "needs 4 CUs; this MU is configured with 3") || !strings.Contains(err.Error(), "400") {
		t.Fatalf("a 3-of-4 process on three CUs: %v, want 400", err)
	}
	if _, err := c.Spawn(ctx, devnet.Spawn{Tags: []dataitem.Tag{{Name: quorum.Tag, Value: "1-of-3"}}}); err == nil ||
		!strings.Contains(err.Error(), "more than half") {
		t.Fatalf("a 1-of-3 process: %v, want refused", err)
	}
}

func TestQuorumCUsLimit(t *testing.T) {
	if _, err := devnet.New(context.Background(), devnet.Config{Dir: t.TempDir(), Listen: "127.0.0.1:0", CUs: devnet.MaxCUs + 1}); err == nil {
		t.Fatal("a network of more than MaxCUs CUs started")
	}
	if _, err := devnet.New(context.Background(), devnet.Config{Dir: t.TempDir(), Listen: "127.0.0.1:0", CUs: 2, Quorum: quorum.Policy{K: 2, N: 3}}); err == nil {
		t.Fatal("a 2-of-3 default quorum on two CUs started")
	}
}

// TestMemoryHashPolicy: Config.MemoryHash reaches the CUs. By default (per run) a hot message's attestation
// carries its Memory-Hash; under HashAtCheckpoint it carries none (the hash is off the result's path), and the
// rest of the attestation still verifies.
func TestMemoryHashPolicy(t *testing.T) {
	for _, c := range []struct {
		name   string
		policy cu.HashPolicy
		want   bool
	}{{"run", cu.HashPerRun, true}, {"checkpoint", cu.HashAtCheckpoint, false}} {
		t.Run(c.name, func(t *testing.T) {
			n := startNetConfig(t, devnet.Config{Dir: t.TempDir(), MemoryHash: c.policy, CUs: 2})
			ctx := context.Background()
			cl := userClient(t, n)
			pid, err := cl.Spawn(ctx, devnet.Spawn{})
			if err != nil {
				t.Fatal(err)
			}
			mid, err := cl.Send(ctx, pid, []dataitem.Tag{{Name: "Action", Value: "Eval"}}, []byte("return 1"))
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range n.Info().CUs {
				r, err := client.NewCU(u, n.HTTPClient()).Result(ctx, pid, mid)
				if err != nil {
					t.Fatal(err)
				}
				att, err := ao.VerifyAttestation(r.Attestation, r.Body)
				if err != nil {
					t.Fatal(err)
				}
				if got := att.MemoryHash != ""; got != c.want {
					t.Fatalf("%s: Memory-Hash %q, want one: %v", u, att.MemoryHash, c.want)
				}
			}
		})
	}
}
