package verify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aogo/aogo/gateway"
	"github.com/aogo/aogo/vm"
)

// GatewayDrive backs the replay's WeaveDrive extension with a gateway: /data/<id> is the data of item or
// transaction id. Other paths, and data the gateway does not have, open as missing files (fopen returns NULL).
// Arweave data is immutable, which keeps the replay deterministic. The admission rules of a process
// (Availability-Type, Attestations) are not applied here.
type GatewayDrive struct {
	GW *gateway.Client
	// MaxBytes bounds one file read into memory (default 256 MiB); a larger one fails the message.
	MaxBytes int64
}

type driveFile struct{ *bytes.Reader }

func (f driveFile) Size() int64 { return f.Reader.Size() }

// Open reads the file at path.
func (d GatewayDrive) Open(ctx context.Context, path string) (vm.DriveFile, error) {
	id, ok := strings.CutPrefix(path, "/data/")
	if !ok || id == "" || strings.Contains(id, "/") {
		return nil, nil
	}
	data, _, err := d.GW.Raw(ctx, id)
	if errors.Is(err, gateway.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("weavedrive %s: %w", path, err)
	}
	limit := d.MaxBytes
	if limit <= 0 {
		limit = 256 << 20
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("weavedrive %s: %d bytes, over the %d this verifier reads", path, len(data), limit)
	}
	return driveFile{bytes.NewReader(data)}, nil
}
