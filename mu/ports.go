package mu

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/aogo/aogo/ao"
	"github.com/aogo/aogo/client"
	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/gateway"
)

// Scheduler is the part of one SU's API the MU uses. *client.SU implements it.
type Scheduler interface {
	Post(ctx context.Context, item []byte) (client.SUPosted, error)
	Assign(ctx context.Context, pid, id string, baseLayer bool, exclude []string) (client.SUPosted, error)
	Process(ctx context.Context, pid string) (*client.SUProcess, error)
	Message(ctx context.Context, id, pid string) (*client.SUMessage, error)
}

// Compute is the part of one CU's API the MU uses. *client.CU implements it.
type Compute interface {
	Result(ctx context.Context, pid, mid string) (*client.CUResult, error)
	Results(ctx context.Context, pid string, q client.CUQuery) (*client.CUPage, error)
	Cron(ctx context.Context, pid string, q client.CUQuery) (*client.CUPage, error)
}

// Gateway is the part of an Arweave gateway the MU uses. *gateway.Client implements it. Its errors wrap
// gateway.ErrNotFound for unknown ids and owners.
type Gateway interface {
	// Upload stores a signed item (messages addressed to wallets go only there).
	Upload(ctx context.Context, raw []byte) error
	// Tags returns an item's tags (to learn a process's Scheduler and Module) and its owner's address.
	Tags(ctx context.Context, id string) ([]dataitem.Tag, string, error)
	// SchedulerLocation returns the Url and Time-To-Live of a scheduler address's Scheduler-Location.
	SchedulerLocation(ctx context.Context, address string) (string, time.Duration, error)
}

// permanentError marks a failure that retrying cannot fix (an invalid item, an SU that refuses it): the task
// is parked at once with the reason.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

func permanent(format string, args ...any) error {
	return &permanentError{err: fmt.Errorf(format, args...)}
}

// isPermanent reports whether err cannot be fixed by retrying: marked permanent, a protocol violation, or a
// 4xx answer of an SU (other than timeouts and rate limits).
func isPermanent(err error) bool {
	var p *permanentError
	if errors.As(err, &p) {
		return true
	}
	var v *ao.ValidationError
	if errors.As(err, &v) {
		return true
	}
	var f *dataitem.FormatError
	if errors.As(err, &f) {
		return true
	}
	var se *client.SUError
	if errors.As(err, &se) {
		return clientError(se.Status)
	}
	return false
}

func clientError(status int) bool {
	return status >= 400 && status < 500 && status != http.StatusRequestTimeout &&
		status != http.StatusTooEarly && status != http.StatusTooManyRequests
}

func isNotFound(err error) bool {
	if errors.Is(err, gateway.ErrNotFound) {
		return true
	}
	// An SU answers 400 "not found" for unknown ids, as the reference does; 404 from ours.
	var se *client.SUError
	if errors.As(err, &se) {
		return se.Status == http.StatusNotFound || se.Status == http.StatusBadRequest
	}
	var ce *client.CUError
	if errors.As(err, &ce) {
		return ce.Status == http.StatusNotFound
	}
	return false
}
