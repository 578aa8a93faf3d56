package gateway

import (
	"errors"
	"fmt"
)

// ErrNotFound is returned when the gateway does not know an id.
var ErrNotFound = errors.New("gateway: not found")

// ErrInvalid is returned for input the gateway refuses (malformed item, bad signature, bad query).
var ErrInvalid = errors.New("gateway: invalid input")

// ErrTooLarge is returned (wrapped in a *TooLargeError) for an answer larger than the client reads.
var ErrTooLarge = errors.New("gateway: answer too large")

// TooLargeError is an answer over Client.MaxAnswer bytes, refused before it was read whole.
type TooLargeError struct {
	Method, URL string
	Limit       int64
	Size        int64 // the answer's Content-Length; -1 when unknown (more than Limit arrived)
}

func (e *TooLargeError) Error() string {
	size := "more than " + fmt.Sprint(e.Limit)
	if e.Size >= 0 {
		size = fmt.Sprint(e.Size)
	}
	return fmt.Sprintf("gateway: %s %s: answer of %s bytes is over this client's limit of %d (raise Client.MaxAnswer)",
		e.Method, e.URL, size, e.Limit)
}

func (e *TooLargeError) Is(target error) bool { return target == ErrTooLarge }

// HTTPError is a non-2xx answer from a gateway. Is(ErrNotFound) holds for a 404, Is(ErrInvalid) for a 400.
type HTTPError struct {
	Method, URL string
	Status      int
	Message     string // the "error" field of a JSON body, or the start of the body
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("gateway: %s %s: %d %s", e.Method, e.URL, e.Status, e.Message)
}

func (e *HTTPError) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.Status == 404
	case ErrInvalid:
		return e.Status == 400
	}
	return false
}

// GraphQLError is an answer whose "errors" array is not empty.
type GraphQLError struct {
	Messages []string
}

func (e *GraphQLError) Error() string {
	if len(e.Messages) == 1 {
		return "gateway: graphql: " + e.Messages[0]
	}
	return fmt.Sprintf("gateway: graphql: %q", e.Messages)
}

func asHTTPError(err error, target **HTTPError) bool { return errors.As(err, target) }
