package emscripten

import (
	"bytes"
	"context"
	"errors"
	"fmt"
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

// refusingDrive answers as the reference drive refuses: "HALT" for /data/HALT, an exception for
// /data/REFUSE.
type refusingDrive struct{}

func (refusingDrive) Open(_ context.Context, path string) (vm.DriveFile, error) {
	switch path {
	case "/data/HALT":
		return nil, fmt.Errorf("not admitted: %w", vm.ErrFileNotFound)
	case "/data/REFUSE":
		return nil, &vm.DriveRefusal{Reason: "This WeaveDrive implementation does not support Library attestations yet!"}
	}
	return nil, nil
}

// TestWeaveDriveRefusals: the reference glue's behaviour per format. wasm64 throws on the drive's HALT
// answer (the message ends with Error "HALT: FILE NOT FOUND", state unchanged); emscripten4 turns it into
// fopen's NULL; a thrown refusal is the message's Error on both.
func TestWeaveDriveRefusals(t *testing.T) {
	for _, mod := range realModules[:2] {
		t.Run(mod.name, func(t *testing.T) {
			m := openBooted(t, mod.name, mod.format, vm.Options{WeaveDrive: refusingDrive{}})
			r := mustApply(t, m, evalMsg(`X = 1; return tostring(io.open("/data/HALT"))`))
			if mod.format == "wasm32-unknown-emscripten4" {
				if got := outputData(t, r); got != "nil" || r.Error != "" {
					t.Fatalf("emscripten4 HALT: %q %q", got, r.Error)
				}
			} else if r.Error != "HALT: FILE NOT FOUND" {
				t.Fatalf("wasm64 HALT: error %q", r.Error)
			}
			r = mustApply(t, m, evalMsg(`Y = 1; return tostring(io.open("/data/REFUSE"))`))
			if r.Error != "This WeaveDrive implementation does not support Library attestations yet!" {
				t.Fatalf("refusal: error %q", r.Error)
			}
			want := "1 nil"
			if mod.format != "wasm32-unknown-emscripten4" {
				want = "nil nil"
			}
			if got := outputData(t, mustApply(t, m, evalMsg(`return tostring(X) .. " " .. tostring(Y)`))); got != want {
				t.Fatalf("state after the refusals: %q, want %q", got, want)
			}
		})
	}
}
