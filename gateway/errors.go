package gateway

import (
	"errors"
	"fmt"
)

// ErrNotFound is returned when the gateway does not know an id.
var ErrNotFound = errors.New("gateway: not found")

// ErrInvalid is returned for input the gateway refuses (malformed item, bad signature, bad query).
var ErrInvalid = errors.New("gateway: invalid input")

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
