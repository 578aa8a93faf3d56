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
	files map[string]string
	opens int
	fail  bool
}

type fakeFile struct{ *bytes.Reader }

func (f fakeFile) Size() int64 { return f.Reader.Size() }

func (d *fakeDrive) Open(_ context.Context, path string) (vm.DriveFile, error) {
	d.opens++
	if d.fail {
		return nil, errors.New("gateway down")
	}
	s, ok := d.files[path]
	if !ok {
		return nil, nil
	}
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
			// The backend fails: a new file is a host error, the state is kept (the rollback replays the
			// earlier read from the machine's drive cache), and files already read still work.
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

// heightDrive admits /data/LATE from Block-Height 6 on, the way an attestation landing at height 6 does.
type heightDrive struct{ calls []int64 }

func (d *heightDrive) Open(ctx context.Context, path string) (vm.DriveFile, error) {
	if path != "/data/LATE" {
		return nil, nil // the module's start-up looks for Lua libraries through the drive
	}
	c := vm.DriveCallOf(ctx)
	if c == nil {
		return nil, errors.New("no drive call")
	}
	d.calls = append(d.calls, c.BlockHeight)
	if c.BlockHeight < 6 {
		return nil, nil
	}
	return fakeFile{bytes.NewReader([]byte("late data"))}, nil
}

// TestWeaveDriveCallPerMessage: each Apply's drive call reaches the drive; a "not available" answer at
// one height is not reused at a later height (the data was admitted since), and a rollback replays each
// message under its own call.
func TestWeaveDriveCallPerMessage(t *testing.T) {
	mod := realModules[0]
	drive := &heightDrive{}
	m := openBooted(t, mod.name, mod.format, vm.Options{WeaveDrive: drive})
	apply := func(h int64, code string) (vm.Result, error) {
		ctx := vm.WithDriveCall(context.Background(), &vm.DriveCall{Process: testPID, BlockHeight: h})
		return m.Apply(ctx, evalMsg(code), testEnv())
	}
	read := `local f = io.open("/data/LATE"); if not f then return "nil" end; local s = f:read(f:seek("end")); f:close(); return s`
	for _, c := range []struct {
		h    int64
		want string
	}{{5, "nil"}, {6, "late data"}, {5, "nil"}, {7, "late data"}} {
		r, err := apply(c.h, `Seen = (Seen or "") .. "|" .. (`+"(function() "+read+" end)()"+`); return Seen`)
		if err != nil {
			t.Fatal(err)
		}
		if got := outputData(t, r); !strings.HasSuffix(got, "|"+c.want) {
			t.Fatalf("height %d: %q (error %q)", c.h, got, r.Error)
		}
	}
	// A failing message forces a rollback: the journal's messages replay, each under its own call, so
	// the state (Seen) is as before.
	want := "|nil|late data|nil|late data"
	if _, err := apply(8, `error("boom")`); err != nil {
		t.Fatal(err)
	}
	r, err := apply(8, `return Seen`)
	if err != nil {
		t.Fatal(err)
	}
	if got := outputData(t, r); got != want {
		t.Fatalf("after rollback: %q, want %q", got, want)
	}
}
