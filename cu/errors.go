package cu

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/aogo/aogo/ao"
	"github.com/aogo/aogo/client"
)

// Error is a failure with the HTTP status the CU answers it with (the reference CU's: 400 bad parameters,
// 404 unknown process or message, 413 limits, 422 invalid module or log).
type Error struct {
	Status int
	Err    error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

func statusErr(status int, format string, args ...any) error {
	return &Error{Status: status, Err: fmt.Errorf(format, args...)}
}

func badRequest(format string, args ...any) error {
	return statusErr(http.StatusBadRequest, format, args...)
}
func notFound(format string, args ...any) error {
	return statusErr(http.StatusNotFound, format, args...)
}
func tooLarge(format string, args ...any) error {
	return statusErr(http.StatusRequestEntityTooLarge, format, args...)
}
func unprocessable(format string, args ...any) error {
	return statusErr(http.StatusUnprocessableEntity, format, args...)
}

// statusOf maps an error to its HTTP status, in one place.
func statusOf(err error) int {
	var e *Error
	var v *ao.ValidationError
	switch {
	case errors.As(err, &e):
		return e.Status
	case errors.As(err, &v):
		return http.StatusUnprocessableEntity
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable
	case client.IsSUStatus(err, http.StatusNotFound):
		return http.StatusNotFound
	}
	return http.StatusInternalServerError
}
