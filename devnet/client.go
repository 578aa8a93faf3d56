package devnet

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aogo/aogo/ao"
	"github.com/aogo/aogo/client"
	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/gateway"
	"github.com/aogo/aogo/vm"
)

// Client is a user of an ao network described by an Info (a dev network's GET /): it signs items with its
// wallet and sends them as aoconnect does — to the MU, results from the CU, modules to the gateway.
type Client struct {
	Info Info
	// Authority is the MU's address. Spawn adds it as the process's Authority tag, so the process trusts the
	// messages the MU pushes on behalf of other processes (as aos's CLI does).
	Authority string
	Wallet    dataitem.Signer
	HTTP      *http.Client
	CU        *client.CU
	Gateway   *gateway.Client
}

// Dial reads the network's Info from baseURL (GET /) and the MU's address (GET {mu}/).
func Dial(ctx context.Context, baseURL string, w dataitem.Signer, hc *http.Client) (*Client, error) {
	if hc == nil {
		hc = &http.Client{Timeout: 2 * time.Minute}
	}
	c := &Client{Wallet: w, HTTP: hc}
	base := strings.TrimRight(baseURL, "/")
	if err := c.getJSON(ctx, base+"/", &c.Info); err != nil {
		return nil, fmt.Errorf("network %s: %w", base, err)
	}
	if c.Info.MU == "" || c.Info.CU == "" || c.Info.Gateway == "" {
		return nil, fmt.Errorf("network %s: GET / did not describe an ao network (mu, cu, gateway)", base)
	}
	var st struct {
		Address string `json:"address"`
	}
	if err := c.getJSON(ctx, c.Info.MU+"/", &st); err != nil {
		return nil, fmt.Errorf("mu %s: %w", c.Info.MU, err)
	}
	c.Authority = st.Address
	c.CU = client.NewCU(c.Info.CU, hc)
	c.Gateway = gateway.NewClient(c.Info.Gateway, hc)
	return c, nil
}

func (c *Client) getJSON(ctx context.Context, url string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: HTTP %d: %s", url, resp.StatusCode, bytes.TrimSpace(body))
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	return nil
}

// Spawn describes a process to spawn.
type Spawn struct {
	Module    string // default: the network's module
	Scheduler string // default: the network's SU
	Tags      []dataitem.Tag
	Data      []byte // default: a single space, as aoconnect sends
}

// Spawn signs a Process item and posts it to the MU. It returns the process id.
func (c *Client) Spawn(ctx context.Context, s Spawn) (string, error) {
	if s.Module == "" {
		s.Module = c.Info.Module
	}
	if s.Scheduler == "" {
		s.Scheduler = c.Info.Scheduler
	}
	tags := []dataitem.Tag{
		{Name: ao.TagDataProtocol, Value: ao.DataProtocol},
		{Name: "Variant", Value: "ao.TN.1"},
		{Name: "Type", Value: ao.TypeProcess},
		{Name: "Module", Value: s.Module},
		{Name: "Scheduler", Value: s.Scheduler},
	}
	if _, ok := dataitem.Get(s.Tags, "Authority"); !ok && c.Authority != "" {
		tags = append(tags, dataitem.Tag{Name: "Authority", Value: c.Authority})
	}
	tags = append(tags, s.Tags...)
	return c.post(ctx, nil, tags, s.Data)
}

// Send signs a Message to process pid and posts it to the MU. It returns the message id.
func (c *Client) Send(ctx context.Context, pid string, tags []dataitem.Tag, data []byte) (string, error) {
	target, err := dataitem.DecodeB64(pid)
	if err != nil || len(target) != 32 {
		return "", fmt.Errorf("process id %q is not a base64url id of 32 bytes", pid)
	}
	all := append([]dataitem.Tag{
		{Name: ao.TagDataProtocol, Value: ao.DataProtocol},
		{Name: "Variant", Value: "ao.TN.1"},
		{Name: "Type", Value: ao.TypeMessage},
	}, tags...)
	return c.post(ctx, target, all, data)
}

func (c *Client) post(ctx context.Context, target []byte, tags []dataitem.Tag, data []byte) (string, error) {
	if len(data) == 0 {
		data = []byte(" ")
	}
	// A random anchor keeps two identical sends distinct: ed25519 signatures are deterministic, so without it
	// the same spawn or message twice would be one item, which the MU and SU take only once.
	it := &dataitem.Item{Target: target, Anchor: anchor(), Tags: tags, Data: data}
	if err := it.Sign(c.Wallet); err != nil {
		return "", fmt.Errorf("sign: %w", err)
	}
	raw, err := it.Bytes()
	if err != nil {
		return "", err
	}
	var out struct {
		ID    string `json:"id"`
		Error string `json:"error"`
	}
	if err := c.postMU(ctx, c.Info.MU, raw, &out); err != nil {
		return "", err
	}
	if out.ID != it.ID() {
		return "", fmt.Errorf("mu answered id %q for item %s", out.ID, it.ID())
	}
	return out.ID, nil
}

// Assign schedules message mid onto process pid through the MU (POST {mu}?process-id=&assign=). It returns
// the assignment id.
func (c *Client) Assign(ctx context.Context, pid, mid string) (string, error) {
	var out struct {
		ID string `json:"id"`
	}
	u := c.Info.MU + "?process-id=" + pid + "&assign=" + mid
	if err := c.postMU(ctx, u, nil, &out); err != nil {
		return "", err
	}
	return out.ID, nil
}

func (c *Client) postMU(ctx context.Context, url string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("mu: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("mu: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			return fmt.Errorf("mu: HTTP %d: %s", resp.StatusCode, e.Error)
		}
		return fmt.Errorf("mu: HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(b))
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("mu: answer %q: %w", b, err)
	}
	return nil
}

// Result returns the result of message mid of process pid (GET {cu}/result/{mid}?process-id=).
func (c *Client) Result(ctx context.Context, pid, mid string) (*client.CUResult, error) {
	return c.CU.Result(ctx, pid, mid)
}

// DryRun evaluates a message on pid's latest state without changing it. The message is from this client's
// wallet.
func (c *Client) DryRun(ctx context.Context, pid string, tags []dataitem.Tag, data string) (vm.Result, error) {
	return c.CU.DryRun(ctx, pid, client.DryRunMessage{
		Owner: dataitem.Address(c.Wallet.Owner()), Target: pid, Data: data,
		Tags: append([]dataitem.Tag{
			{Name: ao.TagDataProtocol, Value: ao.DataProtocol},
			{Name: "Type", Value: ao.TypeMessage},
			{Name: "Variant", Value: "ao.TN.1"},
		}, tags...),
	})
}

// Eval sends Lua code to an aos process (Action = Eval) and waits for its result.
func (c *Client) Eval(ctx context.Context, pid, code string) (*client.CUResult, error) {
	mid, err := c.Send(ctx, pid, []dataitem.Tag{{Name: "Action", Value: "Eval"}}, []byte(code))
	if err != nil {
		return nil, err
	}
	return c.Result(ctx, pid, mid)
}

// Publish signs m with this client's wallet and uploads it to the gateway (unless it is there). It returns
// the module id.
func (c *Client) Publish(ctx context.Context, m Module) (string, error) {
	it, err := m.Item(c.Wallet)
	if err != nil {
		return "", err
	}
	if _, err := Publish(ctx, c.Gateway, it); err != nil {
		return "", err
	}
	return it.ID(), nil
}

// OutputText is the text an aos result shows: Output.data (a string, or aos 1's {output}), else the raw
// Output JSON.
func OutputText(r vm.Result) string {
	if len(r.Output) == 0 || string(r.Output) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(r.Output, &s) == nil {
		return s
	}
	var o struct {
		Data json.RawMessage `json:"data"`
	}
	if json.Unmarshal(r.Output, &o) == nil && len(o.Data) > 0 {
		if json.Unmarshal(o.Data, &s) == nil {
			return s
		}
		var old struct {
			Output json.RawMessage `json:"output"`
		}
		if json.Unmarshal(o.Data, &old) == nil && len(old.Output) > 0 {
			if json.Unmarshal(old.Output, &s) == nil {
				return s
			}
			return string(old.Output)
		}
		return string(o.Data)
	}
	return string(r.Output)
}
