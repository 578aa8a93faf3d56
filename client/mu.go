package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// MU is a client of a Messenger Unit.
type MU struct {
	base string
	hc   *http.Client
}

// NewMU returns a client of the MU at baseURL. hc nil means http.DefaultClient.
func NewMU(baseURL string, hc *http.Client) *MU {
	if hc == nil {
		hc = http.DefaultClient
	}
	return &MU{base: strings.TrimRight(baseURL, "/"), hc: hc}
}

// URL is the MU's base URL.
func (c *MU) URL() string { return c.base }

// MUError is a non-2xx answer from an MU. Message is the "error" field of the JSON body when there is one,
// otherwise the body text.
type MUError struct {
	Status  int
	Message string
}

func (e *MUError) Error() string { return fmt.Sprintf("mu: HTTP %d: %s", e.Status, e.Message) }

// IsMUStatus reports whether err is an MUError with the given HTTP status.
func IsMUStatus(err error, status int) bool {
	var e *MUError
	return errors.As(err, &e) && e.Status == status
}

// Address returns the MU wallet's address (GET /), the owner of every item it pushes: processes list it
// as an Authority to trust the messages it pushes for other processes.
func (c *MU) Address(ctx context.Context) (string, error) {
	var out struct {
		Address string `json:"address"`
	}
	_, _, err := roundTrip(ctx, c.hc, "mu", c.base, http.MethodGet, "/", nil, nil, "", &out)
	if se, ok := err.(*statusError); ok {
		return "", &MUError{Status: se.status, Message: se.message}
	}
	return out.Address, err
}

// Post hands a signed Message or Process item to the MU (POST /, body = the ANS-104 bytes), which schedules
// it and cranks its outbox; it returns the item's id as the MU acknowledged it.
func (c *MU) Post(ctx context.Context, item []byte) (string, error) {
	var out struct {
		ID string `json:"id"`
	}
	_, _, err := roundTrip(ctx, c.hc, "mu", c.base, http.MethodPost, "/", nil, item, "application/octet-stream", &out)
	if se, ok := err.(*statusError); ok {
		return "", &MUError{Status: se.status, Message: se.message}
	}
	return out.ID, err
}

// Monitor asks the MU to run pid's cron: it reads the process's cron results from its CU and pushes what
// they send (POST /monitor/{pid}, body = a signed item, as aoconnect's monitor() sends). It returns the MU's
// answer text.
func (c *MU) Monitor(ctx context.Context, pid string, item []byte) (string, error) {
	return c.monitor(ctx, http.MethodPost, pid, item)
}

// Unmonitor stops the MU running pid's cron (DELETE /monitor/{pid}). Our MU takes it only from an item signed
// by the process's owner (403 otherwise); 404 when pid is not monitored.
func (c *MU) Unmonitor(ctx context.Context, pid string, item []byte) (string, error) {
	return c.monitor(ctx, http.MethodDelete, pid, item)
}

func (c *MU) monitor(ctx context.Context, method, pid string, item []byte) (string, error) {
	b, _, err := roundTrip(ctx, c.hc, "mu", c.base, method, "/monitor/"+url.PathEscape(pid), nil, item, "application/octet-stream", nil)
	if se, ok := err.(*statusError); ok {
		return "", &MUError{Status: se.status, Message: se.message}
	}
	return strings.TrimSpace(string(b)), err
}
