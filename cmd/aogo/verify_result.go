package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/aogo/aogo/client"
	"github.com/aogo/aogo/cu"
	"github.com/aogo/aogo/dataitem"
)

func init() {
	register("verify-result", "check a CU's signed attestation of a result", runVerifyResult)
}

// runVerifyResult is `aogo verify-result`: fetch a result from a CU (or read a saved body and attestation)
// and check that the CU's attestation signs exactly that body for that process and message.
func runVerifyResult(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("verify-result", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cuURL := fs.String("cu", envOr("AOGO_CU_URL", ""), "CU `URL` to fetch the result from (env AOGO_CU_URL)")
	pid := fs.String("process", "", "process `ID`")
	mid := fs.String("message", "", "message `ID`")
	bodyPath := fs.String("body", "", "result body `FILE` (offline check, with --attestation)")
	attPath := fs.String("attestation", "", "attestation `FILE`: the raw item, or its base64url as in the header")
	unit := fs.String("unit", "", "require the attestation to be signed by this CU `ADDRESS` (comma-separated list)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: aogo verify-result --cu URL --process ID --message ID [--unit ADDRESS]\n"+
			"       aogo verify-result --body FILE --attestation FILE [--process ID] [--message ID] [--unit ADDRESS]\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "aogo verify-result: "+format+"\n", a...)
		return 1
	}
	var body, att []byte
	switch {
	case *bodyPath != "" || *attPath != "":
		if *bodyPath == "" || *attPath == "" {
			return fail("--body and --attestation go together")
		}
		var err error
		if body, err = os.ReadFile(*bodyPath); err != nil {
			return fail("%v", err)
		}
		if att, err = os.ReadFile(*attPath); err != nil {
			return fail("%v", err)
		}
		// A file holding the header value (base64url text) rather than the raw item.
		if s := strings.TrimSpace(string(att)); len(s) > 0 && !strings.ContainsAny(s[:1], "\x01\x02\x03\x04") {
			if raw, err := dataitem.DecodeB64(s); err == nil {
				att = raw
			}
		}
	case *cuURL != "":
		if *pid == "" || *mid == "" {
			return fail("--process and --message are required with --cu")
		}
		r, err := client.NewCU(*cuURL, nil).Result(ctx, *pid, *mid)
		if err != nil {
			return fail("%v", err)
		}
		if r.Attestation == nil {
			return fail("the CU sent no %s header (a reference CU does not sign results)", client.AttestationHeader)
		}
		body, att = r.Body, r.Attestation
	default:
		fs.Usage()
		return 2
	}
	a, err := cu.VerifyAttestation(att, body)
	if err != nil {
		return fail("INVALID: %v", err)
	}
	if *pid != "" && a.Process != *pid {
		return fail("INVALID: attestation is for process %s, not %s", a.Process, *pid)
	}
	if *mid != "" && a.Message != *mid {
		return fail("INVALID: attestation is for message %q, not %s", a.Message, *mid)
	}
	if *unit != "" {
		ok := false
		for _, u := range strings.Split(*unit, ",") {
			ok = ok || strings.TrimSpace(u) == a.Unit
		}
		if !ok {
			return fail("INVALID: signed by %s, not a trusted unit", a.Unit)
		}
	}
	out, _ := json.MarshalIndent(a, "", "  ")
	fmt.Fprintf(stdout, "%s\n", out)
	fmt.Fprintln(stderr, "OK: attestation verifies")
	return 0
}
