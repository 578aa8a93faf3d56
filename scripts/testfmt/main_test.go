package main

import (
	"strings"
	"testing"
)

// A `go test -json` stream of three packages: one passing (with a passing test's log), one failing in a
// subtest (a skip beside it), one without tests, and one that does not build.
const stream = `{"Action":"start","Package":"p/ok"}
{"Action":"start","Package":"p/bad"}
{"Action":"run","Package":"p/ok","Test":"TestOK"}
{"Action":"output","Package":"p/ok","Test":"TestOK","Output":"=== RUN   TestOK\n"}
{"Action":"output","Package":"p/ok","Test":"TestOK","Output":"    a_test.go:3: quiet\n"}
{"Action":"output","Package":"p/ok","Test":"TestOK","Output":"--- PASS: TestOK (0.00s)\n"}
{"Action":"pass","Package":"p/ok","Test":"TestOK","Elapsed":0}
{"Action":"output","Package":"p/ok","Output":"PASS\n"}
{"Action":"output","Package":"p/ok","Output":"ok  \tp/ok\t0.004s\n"}
{"Action":"pass","Package":"p/ok","Elapsed":0.004}
{"Action":"run","Package":"p/bad","Test":"TestBad"}
{"Action":"output","Package":"p/bad","Test":"TestBad","Output":"=== RUN   TestBad\n"}
{"Action":"run","Package":"p/bad","Test":"TestBad/sub"}
{"Action":"output","Package":"p/bad","Test":"TestBad/sub","Output":"=== RUN   TestBad/sub\n"}
{"Action":"output","Package":"p/bad","Test":"TestBad/sub","Output":"    a_test.go:4: boom\n"}
{"Action":"output","Package":"p/bad","Test":"TestBad/sub","Output":"--- FAIL: TestBad/sub (0.00s)\n"}
{"Action":"fail","Package":"p/bad","Test":"TestBad/sub","Elapsed":0}
{"Action":"output","Package":"p/bad","Test":"TestBad","Output":"--- FAIL: TestBad (0.00s)\n"}
{"Action":"fail","Package":"p/bad","Test":"TestBad","Elapsed":0}
{"Action":"run","Package":"p/bad","Test":"TestSkip"}
{"Action":"output","Package":"p/bad","Test":"TestSkip","Output":"=== RUN   TestSkip\n"}
{"Action":"output","Package":"p/bad","Test":"TestSkip","Output":"    a_test.go:5: nah\n"}
{"Action":"output","Package":"p/bad","Test":"TestSkip","Output":"--- SKIP: TestSkip (0.00s)\n"}
{"Action":"skip","Package":"p/bad","Test":"TestSkip","Elapsed":0}
{"Action":"output","Package":"p/bad","Output":"FAIL\n"}
{"Action":"output","Package":"p/bad","Output":"FAIL\tp/bad\t0.004s\n"}
{"Action":"fail","Package":"p/bad","Elapsed":0.004}
{"Action":"start","Package":"p/none"}
{"Action":"output","Package":"p/none","Output":"?   \tp/none\t[no test files]\n"}
{"Action":"skip","Package":"p/none","Elapsed":0}
{"ImportPath":"p/broken [p/broken.test]","Action":"build-output","Output":"# p/broken\n"}
{"ImportPath":"p/broken [p/broken.test]","Action":"build-output","Output":"x.go:1:1: syntax error\n"}
{"ImportPath":"p/broken [p/broken.test]","Action":"build-fail"}
{"Action":"start","Package":"p/broken"}
{"Action":"output","Package":"p/broken","Output":"FAIL\tp/broken [build failed]\n"}
{"Action":"fail","Package":"p/broken","Elapsed":0}
`

func TestFormat(t *testing.T) {
	var out, progress strings.Builder
	failed, err := format(strings.NewReader(stream), &out, &progress)
	if err != nil || !failed {
		t.Fatalf("failed %v, err %v", failed, err)
	}
	want := "ok  \tp/ok\t0.004s\n" +
		"    a_test.go:4: boom\n--- FAIL: TestBad/sub (0.00s)\n--- FAIL: TestBad (0.00s)\nFAIL\nFAIL\tp/bad\t0.004s\n" +
		"?   \tp/none\t[no test files]\n" +
		"# p/broken\nx.go:1:1: syntax error\nFAIL\tp/broken [build failed]\n" +
		"FAIL\n"
	if out.String() != want {
		t.Errorf("out:\n%s\nwant:\n%s", out.String(), want)
	}
	if p := progress.String(); p != "testing p/ok …\ntesting p/bad …\ntesting p/none …\ntesting p/broken …\n" {
		t.Errorf("progress %q", p)
	}

	// All passing: the package lines only, and no failure.
	out.Reset()
	failed, err = format(strings.NewReader(strings.SplitAfter(stream, `"Elapsed":0.004}`+"\n")[0]), &out, &progress)
	if err != nil || failed || out.String() != "ok  \tp/ok\t0.004s\n" {
		t.Errorf("passing run: failed %v, err %v, out %q", failed, err, out.String())
	}
}
