package wallet

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aogo/aogo/dataitem"
)

func TestSignVerifyRoundTrip(t *testing.T) {
	for _, kind := range []string{RSA, ED25519, Ethereum} {
		t.Run(kind, func(t *testing.T) {
			w, err := Generate(kind)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "key.json")
			if err := w.Save(path); err != nil {
				t.Fatal(err)
			}
			w2, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if w2.Address() != w.Address() || !bytes.Equal(w2.Owner(), w.Owner()) {
				t.Fatalf("reloaded wallet differs: %s vs %s", w2.Address(), w.Address())
			}
			it := &dataitem.Item{Tags: []dataitem.Tag{{Name: "Action", Value: "Ping"}}, Data: []byte("hello"), Anchor: bytes.Repeat([]byte{'a'}, 32)}
			if err := it.Sign(w2); err != nil {
				t.Fatal(err)
			}
			raw, err := it.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			got, err := dataitem.Decode(raw)
			if err != nil {
				t.Fatal(err)
			}
			if err := got.Verify(); err != nil {
				t.Fatalf("verify: %v", err)
			}
			if got.ID() != it.ID() || got.OwnerAddress() != w.Address() {
				t.Fatalf("id/address mismatch")
			}
			// Flip one data byte: the signature must no longer verify.
			raw[len(raw)-1] ^= 1
			bad, err := dataitem.Decode(raw)
			if err != nil {
				t.Fatal(err)
			}
			if err := bad.Verify(); err != dataitem.ErrBadSignature {
				t.Fatalf("tampered item: got %v, want ErrBadSignature", err)
			}
		})
	}
}

func TestParseArweaveJSWallet(t *testing.T) {
	// A key file written by arweave-js (wallets.generate), with the address arweave-js derives for it.
	var v struct {
		Wallet struct{ File, Address string } `json:"wallet"`
	}
	b, err := os.ReadFile(filepath.Join("..", "dataitem", "testdata", "vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	w, err := Load(filepath.Join("..", "dataitem", "testdata", v.Wallet.File))
	if err != nil {
		t.Fatal(err)
	}
	if w.Kind() != RSA || w.Address() != v.Wallet.Address {
		t.Fatalf("kind %s address %s, arweave-js says %s", w.Kind(), w.Address(), v.Wallet.Address)
	}
	// Writing it back keeps every JWK member arweave-js reads.
	out, err := w.JWK()
	if err != nil {
		t.Fatal(err)
	}
	var orig, back map[string]any
	_ = json.Unmarshal(mustRead(t, filepath.Join("..", "dataitem", "testdata", v.Wallet.File)), &orig)
	_ = json.Unmarshal(out, &back)
	for _, k := range []string{"kty", "n", "e", "d", "p", "q", "dp", "dq", "qi"} {
		if orig[k] != back[k] {
			t.Errorf("JWK member %s differs after a round trip", k)
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseRejects(t *testing.T) {
	ed, _ := Generate(ED25519)
	edJWK, _ := ed.JWK()
	var m map[string]any
	_ = json.Unmarshal(edJWK, &m)
	with := func(k string, v any) []byte {
		c := map[string]any{}
		for kk, vv := range m {
			c[kk] = vv
		}
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		b, _ := json.Marshal(c)
		return b
	}
	cases := map[string]struct {
		in   []byte
		want string
	}{
		"not json":          {[]byte("{"), "parse JWK"},
		"unknown kty":       {[]byte(`{"kty":"oct","k":"AA"}`), "unsupported JWK kty"},
		"ed25519 no d":      {with("d", nil), `"d" missing`},
		"ed25519 short d":   {with("d", "AAAA"), "seed is 3 bytes"},
		"ed25519 bad b64":   {with("d", "!!!"), `JWK field "d"`},
		"ed25519 x differs": {with("x", dataitem.B64(make([]byte, 32))), "does not match"},
		"okp other curve":   {with("crv", "X25519"), "unsupported OKP curve"},
		"rsa small":         {[]byte(`{"kty":"RSA","n":"AQAB","e":"AQAB","d":"AQ","p":"Aw","q":"BQ"}`), "bits"},
		"rsa exponent":      {[]byte(`{"kty":"RSA","n":"AQAB","e":"Aw","d":"AQ","p":"Aw","q":"BQ"}`), "65537"},
		"rsa missing q":     {[]byte(`{"kty":"RSA","n":"AQAB","e":"AQAB","d":"AQ","p":"Aw"}`), `"q" missing`},
		"ec other curve":    {[]byte(`{"kty":"EC","crv":"P-256","d":"AA"}`), "unsupported EC curve"},
		"ec short d":        {[]byte(`{"kty":"EC","crv":"secp256k1","d":"AAAA"}`), "want 32"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Parse(c.in)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error containing %q", err, c.want)
			}
		})
	}
}

func TestEthereumKnownKey(t *testing.T) {
	// Private key 1: public key is the secp256k1 generator, a well-known address.
	w, err := FromEthereumHex("0x0000000000000000000000000000000000000000000000000000000000000001")
	if err != nil {
		t.Fatal(err)
	}
	if got := w.EthereumAddress(); got != "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf" {
		t.Fatalf("address %s", got)
	}
	if w.SignatureType() != dataitem.Ethereum || len(w.Owner()) != 65 || w.Owner()[0] != 4 {
		t.Fatal("owner is not the 65-byte uncompressed key")
	}
}

func TestSolanaWallet(t *testing.T) {
	ed, _ := Generate(ED25519)
	sol, err := ed.AsSolana()
	if err != nil {
		t.Fatal(err)
	}
	if sol.SignatureType() != dataitem.Solana || sol.Address() != ed.Address() {
		t.Fatal("solana wallet differs in type or address")
	}
	it := &dataitem.Item{Data: []byte("x")}
	if err := it.Sign(sol); err != nil {
		t.Fatal(err)
	}
	if err := it.Verify(); err != nil {
		t.Fatal(err)
	}
	eth, _ := Generate(Ethereum)
	if _, err := eth.AsSolana(); err == nil {
		t.Fatal("ethereum key became a solana signer")
	}
}

func TestGenerateUnknown(t *testing.T) {
	if _, err := Generate("dsa"); err == nil {
		t.Fatal("unknown kind accepted")
	}
}

func FuzzParse(f *testing.F) {
	for _, kind := range []string{ED25519, Ethereum} {
		w, _ := Generate(kind)
		b, _ := w.JWK()
		f.Add(b)
	}
	if b, err := os.ReadFile(filepath.Join("..", "dataitem", "testdata", "arweave-wallet.json")); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"kty":"RSA","n":"AQAB","e":"AQAB","d":"AQ","p":"Aw","q":"BQ"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		w, err := Parse(b)
		if err != nil {
			return
		}
		// Whatever parses must sign items that verify, and survive a JWK round trip.
		it := &dataitem.Item{Data: []byte("fuzz")}
		if err := it.Sign(w); err != nil {
			t.Fatalf("parsed wallet cannot sign: %v", err)
		}
		if err := it.Verify(); err != nil {
			t.Fatalf("parsed wallet signs items that do not verify: %v", err)
		}
		out, err := w.JWK()
		if err != nil {
			t.Fatal(err)
		}
		w2, err := Parse(out)
		if err != nil || w2.Address() != w.Address() {
			t.Fatalf("JWK round trip: %v", err)
		}
	})
}
