package devnet_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/devnet"
	"github.com/aogo/aogo/internal/testenv"
	"github.com/aogo/aogo/wallet"
)

// walletClient is a user client and its wallet's address.
func walletClient(t *testing.T, n *devnet.Network) (*devnet.Client, string) {
	t.Helper()
	w, err := wallet.Generate(wallet.ED25519)
	if err != nil {
		t.Fatal(err)
	}
	c, err := devnet.Dial(context.Background(), n.URL(), w, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c, w.Address()
}

// tokenLua is a token's Transfer handler, cut to what fans out: a Debit-Notice to the sender and a
// Credit-Notice to the recipient, both through the outbox.
const tokenLua = `Handlers.add("transfer", "Transfer", function(m)
  ao.send({ Target = m.From, Action = "Debit-Notice", Recipient = m.Recipient, Quantity = m.Quantity })
  ao.send({ Target = m.Recipient, Action = "Credit-Notice", Sender = m.From, Quantity = m.Quantity })
end)
return "ok"`

func tags(kv ...string) []dataitem.Tag {
	var out []dataitem.Tag
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, dataitem.Tag{Name: kv[i], Value: kv[i+1]})
	}
	return out
}

func getJSON(t *testing.T, url string, out any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// spawnToken spawns a token and a recipient process and loads the token's handler.
func spawnToken(t *testing.T, c *devnet.Client) (token, bob string) {
	t.Helper()
	ctx := context.Background()
	var err error
	if token, err = c.Spawn(ctx, devnet.Spawn{Tags: tags("Name", "Token")}); err != nil {
		t.Fatal(err)
	}
	if bob, err = c.Spawn(ctx, devnet.Spawn{Tags: tags("Name", "Bob")}); err != nil {
		t.Fatal(err)
	}
	if r, err := c.Eval(ctx, token, tokenLua); err != nil || r.Error != "" {
		t.Fatalf("load the token handler: %v %+v", err, r)
	}
	return token, bob
}

// TestExplorerTransferGraph: on a real network, a transfer's notices are in the explorer's message graph (the MU's
// crank links), the Credit-Notice is found by its tag, and the Debit-Notice (sent to a wallet, never scheduled) is
// shown from the gateway.
func TestExplorerTransferGraph(t *testing.T) {
	n := startNet(t, t.TempDir())
	c, addr := walletClient(t, n)
	token, bob := spawnToken(t, c)
	transfer, err := c.Send(context.Background(), token, tags("Action", "Transfer", "Recipient", bob, "Quantity", "5"), nil)
	if err != nil {
		t.Fatal(err)
	}
	api := n.ExplorerURL() + "api/"
	// The pages, at /explorer (redirected to /explorer/) beside the units and the AO-Core routes at the root.
	resp, err := http.Get(n.URL() + "/explorer")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/explorer/" || !bytes.Contains(page, []byte("aogo explorer")) {
		t.Errorf("GET /explorer: %d at %s", resp.StatusCode, resp.Request.URL)
	}
	var g struct {
		Nodes []struct{ ID, Process, Action, Kind string }
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(g.Nodes) < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("graph of the transfer: %+v", g)
		}
		time.Sleep(50 * time.Millisecond)
		getJSON(t, api+"messages/"+transfer+"/graph", &g)
	}
	byAction := map[string]string{}
	for _, nd := range g.Nodes {
		byAction[nd.Action] = nd.Process
	}
	if byAction["Transfer"] != token || byAction["Credit-Notice"] != bob || byAction["Debit-Notice"] != addr {
		t.Errorf("graph nodes: %+v", g.Nodes)
	}
	var s struct {
		Messages []struct{ ID, Process, Action string }
	}
	getJSON(t, api+"search?q=Action%3DCredit-Notice", &s)
	if len(s.Messages) != 1 || s.Messages[0].Process != bob {
		t.Errorf("search Action=Credit-Notice: %+v", s)
	}

	// A process spawned by the token is its child, and a spawn node in the graph of the message that spawned it.
	r, err := c.Eval(context.Background(), token, `ao.spawn(ao.env.Module.Id, { Name = "Kid" }); return "spawned"`)
	if err != nil || r.Error != "" {
		t.Fatalf("spawn: %v %+v", err, r)
	}
	var p struct {
		Children []struct{ ID, Name, Parent string }
	}
	for deadline := time.Now().Add(30 * time.Second); len(p.Children) == 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the spawned process never showed as the token's child")
		}
		getJSON(t, api+"processes/"+token, &p)
	}
	if k := p.Children[0]; k.Name != "Kid" || k.Parent != token {
		t.Errorf("child: %+v", k)
	}
	var kg struct {
		Parent *struct{ ID, Action string }
		Nodes  []struct{ ID, Kind string }
	}
	getJSON(t, api+"messages/"+p.Children[0].ID+"/graph", &kg)
	if kg.Parent == nil || kg.Parent.Action != "Eval" || len(kg.Nodes) == 0 || kg.Nodes[0].Kind != "spawn" {
		t.Errorf("the child's graph: %+v", kg)
	}
}

// TestExplorerBrowser drives the explorer in headless chromium: the live stream updates when a transfer is sent,
// the graph leads from the transfer to its Debit-Notice and Credit-Notice, a tag search finds the notice, and the
// pages fit a phone's width. Screenshots go to $AOGO_EXPLORER_SHOTS (default: the test's temp dir).
func TestExplorerBrowser(t *testing.T) {
	node := testenv.Node(t)
	modules := testenv.NodeModules(t, "playwright-core")
	chromium := testenv.Chromium(t)
	n := startNet(t, t.TempDir())
	c := userClient(t, n)
	token, bob := spawnToken(t, c)

	shots := os.Getenv("AOGO_EXPLORER_SHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("testdata", "explorer-browser.cjs"))
	cmd.Env = append(cmd.Environ(), "NODE_PATH="+modules, "AOGO_EXPLORER="+n.ExplorerURL(), "AOGO_CHROMIUM="+chromium,
		"AOGO_PROFILE="+t.TempDir(), "AOGO_SHOTS="+shots, "AOGO_TOKEN="+token)
	var stderr testenv.SyncBuffer
	cmd.Stderr = &stderr
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	var last string
	var transfer string
	for lines.Scan() {
		last = lines.Text()
		if last == "ready" {
			// The live page is open: now the transfer, whose notices fan out through the outbox.
			var err error
			if transfer, err = c.Send(ctx, token, tags("Action", "Transfer", "Recipient", bob, "Quantity", "5"), nil); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintln(stdin, transfer)
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("browser script: %v\nlast line: %s\nstderr: %s", err, last, stderr.String())
	}
	var facts struct {
		Transfer   string
		Debit      string `json:"Debit-Notice"`
		Credit     string `json:"Credit-Notice"`
		LiveRows   int
		SearchRows int
		OK         bool
	}
	if err := json.Unmarshal([]byte(last), &facts); err != nil || !facts.OK {
		t.Fatalf("browser facts %q: %v\nstderr: %s", last, err, stderr.String())
	}
	// What the browser clicked is what the network did: the transfer's result caused exactly these two.
	var m struct {
		Caused []struct{ ID, Action string }
	}
	getJSON(t, n.ExplorerURL()+"api/messages/"+transfer, &m)
	got := map[string]string{}
	for _, l := range m.Caused {
		got[l.Action] = l.ID
	}
	if facts.Transfer != transfer || got["Debit-Notice"] != facts.Debit || got["Credit-Notice"] != facts.Credit || len(m.Caused) != 2 {
		t.Errorf("browser saw %+v; the transfer caused %+v", facts, m.Caused)
	}
	if facts.LiveRows < 2 || facts.SearchRows != 1 {
		t.Errorf("live rows %d (want the transfer and its Credit-Notice at least), search rows %d", facts.LiveRows, facts.SearchRows)
	}
	t.Logf("explorer screenshots in %s (explorer-live.png, explorer-graph.png, explorer-phone.png; set AOGO_EXPLORER_SHOTS to keep them)", shots)
}
