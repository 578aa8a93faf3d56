package aos

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/aogo/aogo/internal/testenv"
)

// inputHash recomputes what build.sh --hash prints: the sha256 of the lines "<sha256>  <path>" of
// aos/build.sh and every .c, .h and .lua file under aos/csrc and aos/lua, sorted by path.
func inputHash(root string) (string, error) {
	files := []string{"aos/build.sh"}
	for _, dir := range []string{"aos/csrc", "aos/lua"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			switch filepath.Ext(p) {
			case ".c", ".h", ".lua":
				rel, err := filepath.Rel(root, p)
				if err != nil {
					return err
				}
				files = append(files, filepath.ToSlash(rel))
			}
			return nil
		})
		if err != nil {
			return "", err
		}
	}
	sort.Strings(files)
	var manifest bytes.Buffer
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&manifest, "%x  %s\n", sha256.Sum256(b), f)
	}
	sum := sha256.Sum256(manifest.Bytes())
	return hex.EncodeToString(sum[:]), nil
}

// recorded reads aos.wasm.sha256: "<input hash>  inputs" and "<wasm sha256>  aos.wasm".
func recorded(t *testing.T) (inputs, wasm string) {
	t.Helper()
	f, err := os.Open("aos.wasm.sha256")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 2 {
			continue
		}
		switch fields[1] {
		case "inputs":
			inputs = fields[0]
		case "aos.wasm":
			wasm = fields[0]
		}
	}
	if inputs == "" || wasm == "" {
		t.Fatalf("aos.wasm.sha256: want an inputs line and an aos.wasm line")
	}
	return inputs, wasm
}

// TestModuleMatchesSources checks, without any toolchain, that the committed aos.wasm was built from the
// committed sources: the input hash recorded at build time must equal the hash of today's sources, and
// the recorded wasm hash must be the hash of the embedded Module.
func TestModuleMatchesSources(t *testing.T) {
	wantInputs, wantWasm := recorded(t)
	got, err := inputHash(testenv.RepoRoot())
	if err != nil {
		t.Fatal(err)
	}
	if got != wantInputs {
		t.Errorf("aos sources changed since aos.wasm was built (input hash %s, recorded %s): run go generate ./aos", got, wantInputs)
	}
	if w := fmt.Sprintf("%x", sha256.Sum256(Module)); w != wantWasm {
		t.Errorf("aos.wasm hash %s, recorded %s: run go generate ./aos", w, wantWasm)
	}
}

// TestRebuildIsReproducible rebuilds the module with emcc and compares bytes (AOGO_AOS_REBUILD=1).
func TestRebuildIsReproducible(t *testing.T) {
	if os.Getenv("AOGO_AOS_REBUILD") != "1" {
		t.Skip("set AOGO_AOS_REBUILD=1 to rebuild aos.wasm with emcc and compare")
	}
	if _, err := exec.LookPath("emcc"); err != nil {
		t.Skip("emcc not found")
	}
	cmd := exec.Command("./build.sh", "--check")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("build.sh --check: %v\n%s", err, tail(out, 4000))
	}
	t.Logf("%s", bytes.TrimSpace(tail(out, 200)))
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

func TestModuleHeader(t *testing.T) {
	if len(Module) < 8 || !bytes.Equal(Module[:4], []byte("\x00asm")) {
		t.Fatalf("Module is not a wasm binary")
	}
	if Format != "wasm32-unknown-emscripten2" {
		t.Fatalf("Format = %q", Format)
	}
}
