package postgres_test

import (
	"context"
	"testing"

	"github.com/aogo/aogo/internal/testenv"
	"github.com/aogo/aogo/store/postgres"
	"github.com/aogo/aogo/store/storetest"
	"github.com/aogo/aogo/su"
)

func TestSUStore(t *testing.T) {
	storetest.SU(t, func(t *testing.T) func() (su.Store, error) {
		dsn := testenv.PostgresSchemaDSN(t)
		return func() (su.Store, error) { return postgres.OpenSU(context.Background(), dsn) }
	})
}
