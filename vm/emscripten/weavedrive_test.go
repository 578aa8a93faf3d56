package emscripten

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aogo/aogo/vm"
)

// fakeDrive serves fixed files; it is what the CU will replace with the gateway.
type fakeDrive struct {
	files  map[string]string
	opens  int
	fail   bool            // the backend fails for every path it has not served before
	served map[string]bool // paths opened successfully
}

type fakeFile struct{ *bytes.Reader }

func (f fakeFile) Size() int64 { return f.Reader.Size() }

func (d *fakeDrive) Open(_ context.Context, path string) (vm.DriveFile, error) {
	d.opens++
	if d.fail && !d.served[path] {
		return nil, errors.New("gateway down")
	}
	s, ok := d.files[path]
	if !ok {
		return nil, nil
	}
	if d.served == nil {
		d.served = map[string]bool{}
	}
	d.served[path] = true
	return fakeFile{bytes.NewReader([]byte(s))}, nil
}

func TestWeaveDrive(t *testing.T) {
	for _, mod := range realModules[:2] {
		t.Run(mod.name, func(t *testing.T) {
			drive := &fakeDrive{files: map[string]string{"/data/TX1": strings.Repeat("weave", 1000)}}
			m := openBooted(t, mod.name, mod.format, vm.Options{WeaveDrive: drive})
			read := `local f = io.open("/data/TX1"); local s = f:read(f:seek("end")); f:close(); return #s .. ":" .. s:sub(1, 10)`
			r := mustApply(t, m, evalMsg(read))
			if got := outputData(t, r); got != "5000:weaveweave" {
				t.Fatalf("read: %q %q", got, r.Error)
			}
			r = mustApply(t, m, evalMsg(`return tostring(io.open("/data/MISSING"))`))
			if got := outputData(t, r); got != "nil" {
				t.Fatalf("missing file: %q %q", got, r.Error)
			}
			// The backend fails for new files: opening one is a host error, the state is kept (the rollback
			// replays the earlier read), and files already read still work. (Whether the re-read comes from the
			// machine's drive cache or the backend depends on whether the machine re-took its base meanwhile,
			// which drops that cache: both must give the file.)
			drive.fail = true
			before := m.MemoryHash()
			if _, err := m.Apply(context.Background(), evalMsg(`X = 1; return io.open("/data/TX2")`), testEnv()); err == nil {
				t.Fatal("a failing drive must be a host error")
			}
			if m.MemoryHash() != before {
				t.Fatal("memory changed by a host failure")
			}
			if r := mustApply(t, m, evalMsg(read)); outputData(t, r) != "5000:weaveweave" {
				t.Fatalf("re-read: %q", r.Error)
			}
		})
	}
}
