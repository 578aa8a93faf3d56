package cu_test

import (
	"testing"

	"github.com/aogo/aogo/cu"
	"github.com/aogo/aogo/wallet"
)

// FuzzVerifyAttestation: arbitrary attestation bytes and bodies never panic, and only the body an
// attestation was made for verifies.
func FuzzVerifyAttestation(f *testing.F) {
	w, err := wallet.Generate(wallet.ED25519)
	if err != nil {
		f.Fatal(err)
	}
	body := []byte(`{"Output":null,"Messages":[],"Spawns":[],"Assignments":[],"GasUsed":0}`)
	att, err := cu.Attest(w, &cu.Eval{Process: "P", Message: "M", Nonce: 1, Result: body})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(att, body)
	f.Add([]byte{2, 0, 1}, []byte("x"))
	f.Fuzz(func(t *testing.T, att, b []byte) {
		a, err := cu.VerifyAttestation(att, b)
		if err == nil && (a.Process == "" && a.Unit == "") {
			t.Fatalf("verified an empty attestation")
		}
	})
}
