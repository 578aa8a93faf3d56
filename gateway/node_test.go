package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/internal/testenv"
)

// runNode runs one of testdata's scripts with the test npm packages on NODE_PATH and decodes its JSON output.
func runNode(t *testing.T, pkg, script string, out any, args ...string) {
	t.Helper()
	bin := testenv.Node(t)
	mods := testenv.NodeModules(t, pkg)
	cmd := exec.Command(bin, append([]string{filepath.Join("testdata", script)}, args...)...)
	cmd.Env = append(os.Environ(), "NODE_PATH="+mods)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("node %s: %v\n%s", script, err, stderr.String())
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("node %s printed %q: %v", script, b, err)
	}
}

// TestArbundlesClientUploads has the npm arbundles sign and POST items (an RSA-signed item and a bundle item)
// and reads them back through /raw, /item, /tx and GraphQL.
func TestArbundlesClientUploads(t *testing.T) {
	g := newTestGateway(t)
	ctx := context.Background()
	var sent struct {
		Owner  string       `json:"owner"`
		Answer UploadResult `json:"answer"`
		Item   struct {
			ID     string         `json:"id"`
			Tags   []dataitem.Tag `json:"tags"`
			Target string         `json:"target"`
			Anchor string         `json:"anchor"`
			Data   string         `json:"data"`
		} `json:"item"`
		Bundle struct {
			ID    string   `json:"id"`
			Items []string `json:"items"`
		} `json:"bundle"`
	}
	runNode(t, "arbundles", "arbundles-upload.cjs", &sent, g.url, filepath.Join("testdata", "arweave-wallet.json"))
	if sent.Answer.ID != sent.Item.ID || sent.Answer.BlockHeight != g.Height() {
		t.Errorf("upload answer %+v, want id %s at height %d", sent.Answer, sent.Item.ID, g.Height())
	}

	data, ct, err := g.client.Raw(ctx, sent.Item.ID)
	if err != nil || string(data) != sent.Item.Data || ct != "text/plain" {
		t.Errorf("raw = %q %q %v", data, ct, err)
	}
	raw, err := g.client.Item(ctx, sent.Item.ID)
	if err != nil {
		t.Fatal(err)
	}
	it, err := dataitem.Decode(raw)
	if err != nil || it.Verify() != nil || it.SignatureType != dataitem.Arweave {
		t.Errorf("stored item does not decode/verify as an Arweave-signed item: %v", err)
	}

	owner, _ := dataitem.DecodeB64(sent.Owner)
	addr := dataitem.Address(owner)
	page, err := g.client.Transactions(ctx, TxQuery{Owners: []string{addr}, Tags: []TagFilter{{Name: "App-Name", Values: []string{"aogo-gateway-test"}}}})
	if err != nil || len(page.Edges) != 1 {
		t.Fatalf("GraphQL by owner and tag: %d edges, %v", len(page.Edges), err)
	}
	n := page.Edges[0].Node
	if n.ID != sent.Item.ID || n.Recipient != sent.Item.Target || n.Anchor != sent.Item.Anchor || n.Owner.Key != sent.Owner ||
		!slices.Equal(n.Tags, sent.Item.Tags) || n.Data.Size != "20" || n.Data.Type != "text/plain" {
		t.Errorf("GraphQL node %+v\ndoes not match what arbundles sent %+v", n, sent.Item)
	}

	page, err = g.client.Transactions(ctx, TxQuery{BundledIn: []string{sent.Bundle.ID}, Sort: SortHeightAsc})
	if err != nil || !slices.Equal(ids(page), sent.Bundle.Items) {
		t.Errorf("bundled items %v (%v), want %v", ids(page), err, sent.Bundle.Items)
	}
	first, ct, err := g.client.Raw(ctx, sent.Bundle.Items[0])
	if err != nil || string(first) != "first" || ct != "text/plain" {
		t.Errorf("raw of the first bundled item = %q %q %v", first, ct, err)
	}
}

// TestSchedulerUtilsLocate runs @permaweb/ao-scheduler-utils (the code aoconnect uses to find a process's SU)
// against the gateway: locate through the process's Scheduler tag and through a hint, raw, validate.
func TestSchedulerUtilsLocate(t *testing.T) {
	g := newTestGateway(t)
	su, user := testWallet(t, 0), testWallet(t, 1)
	g.post(t, signedItem(t, su, "", []byte("1984"), tag("Data-Protocol", "ao"), tag("Variant", "ao.TN.1"),
		tag("Type", "Scheduler-Location"), tag("Url", "http://127.0.0.1:9999/old"), tag("Time-To-Live", "1000")))
	g.clock.Advance(testBlockTime)
	g.post(t, signedItem(t, su, "", []byte("1984"), tag("Data-Protocol", "ao"), tag("Variant", "ao.TN.1"),
		tag("Type", "Scheduler-Location"), tag("Url", "http://127.0.0.1:9999/"), tag("Time-To-Live", "3600000")))
	proc := signedItem(t, user, "", []byte("process"), tag("Data-Protocol", "ao"), tag("Variant", "ao.TN.1"),
		tag("Type", "Process"), tag("Module", strings.Repeat("m", 43)), tag("Scheduler", su.Address()))
	g.post(t, proc)

	var got struct {
		ViaProcess   struct{ URL, Address string } `json:"viaProcess"`
		ViaHint      struct{ URL, Address string } `json:"viaHint"`
		Raw          struct{ URL string }          `json:"raw"`
		Valid        bool                          `json:"valid"`
		UnknownError *string                       `json:"unknownError"`
		Outside      []string                      `json:"outside"`
	}
	runNode(t, "@permaweb/ao-scheduler-utils", "locate.cjs", &got, g.url, proc.ID(), su.Address(), testWallet(t, 2).Address())
	// scheduler-utils trims the trailing slash.
	const want = "http://127.0.0.1:9999"
	if got.ViaProcess.URL != want || got.ViaProcess.Address != su.Address() {
		t.Errorf("locate(process) = %+v, want %s owned by %s", got.ViaProcess, want, su.Address())
	}
	if got.ViaHint.URL != want || got.ViaHint.Address != su.Address() {
		t.Errorf("locate(process, hint) = %+v", got.ViaHint)
	}
	if got.Raw.URL != want || !got.Valid {
		t.Errorf("raw = %+v, validate = %v", got.Raw, got.Valid)
	}
	if got.UnknownError == nil || !strings.Contains(*got.UnknownError, "Could not find 'Scheduler-Location'") {
		t.Errorf("validate(unknown) error = %v", got.UnknownError)
	}
	for _, u := range got.Outside {
		if !strings.HasPrefix(u, "https://su-router.ao-testnet.xyz") {
			t.Errorf("scheduler-utils asked an outside URL other than the su-router: %s", u)
		}
	}
}
