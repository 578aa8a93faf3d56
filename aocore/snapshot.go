package aocore

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/aogo/aogo/client"
)

// StateReader is what ~process@1.0/snapshot needs of the CU (client.CU has it): the process's memory after
// its latest evaluated message, as the CU's GET /state/<pid> answers it.
type StateReader interface {
	State(ctx context.Context, pid string) ([]byte, client.StateInfo, error)
}

var _ StateReader = (*client.CU)(nil)

// snapshot answers HyperBEAM's ~process@1.0/snapshot over a legacy CU: where HyperBEAM's execution device
// dumps its wasm linear memory, this node answers the memory the CU holds for the process (its /state), as
// application/octet-stream with headers process, slot (the last evaluated message's nonce), timestamp and
// block-height. As HyperBEAM's snapshot computes to the current slot first, the router first asks the CU the
// latest slot's result (now), so the memory is the one after it. A memory is up to the process's Memory-Limit: at most one is held here at a time (snapshotSem) and
// one over Config.MaxSnapshot is refused 413.
func (rt *Router) snapshot(req *request, pid string, rest []Segment) (*answer, error) {
	if len(rest) > 0 {
		return nil, errorf(http.StatusNotFound, "snapshot/%s is not supported (supported: snapshot)", keyName(rest))
	}
	if req.serialize {
		return nil, errorf(http.StatusNotAcceptable, "snapshot is a binary (the process memory): ~json@1.0/serialize is not supported on it")
	}
	sr, ok := rt.cfg.CU.(StateReader)
	if !ok {
		return nil, errorf(http.StatusNotImplemented, "snapshot: this node's CU does not serve process state")
	}
	if _, err := rt.now(req, pid, nil); err != nil {
		return nil, err
	}
	ctx := req.r.Context()
	select {
	case rt.snapshotSem <- struct{}{}:
		defer func() { <-rt.snapshotSem }()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	mem, info, err := sr.State(ctx, pid)
	if err != nil {
		return nil, fmt.Errorf("snapshot of %s: %w", pid, err)
	}
	if int64(len(mem)) > rt.cfg.MaxSnapshot {
		return nil, errorf(http.StatusRequestEntityTooLarge, "snapshot of %s: its memory is %d bytes, over this node's %d-byte snapshot limit", pid, len(mem), rt.cfg.MaxSnapshot)
	}
	h := http.Header{}
	h.Set("process", pid)
	h.Set("slot", info.Ordinate)
	h.Set("timestamp", strconv.FormatInt(info.Timestamp, 10))
	h.Set("block-height", strconv.FormatInt(info.BlockHeight, 10))
	return &answer{header: h, text: mem, contentType: "application/octet-stream"}, nil
}
