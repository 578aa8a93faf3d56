package httpsig_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/aogo/aogo/httpsig"
	"github.com/aogo/aogo/wallet"
)

var benchWallet = sync.OnceValues(func() (*wallet.Wallet, error) { return wallet.Generate(wallet.RSA) })

func benchKey(b *testing.B) *wallet.Wallet {
	w, err := benchWallet()
	if err != nil {
		b.Fatal(err)
	}
	return w
}

// A request as aoconnect's request() signs it: a handful of typed headers, no body.
func benchRequest(b *testing.B, w *wallet.Wallet) (*http.Request, []byte) {
	body := bytes.Repeat([]byte("x"), 1024)
	r := httptest.NewRequest("POST", "http://node.test/PID~process@1.0/compute", bytes.NewReader(body))
	r.Header.Set("Ao-Types", `slot="integer"`)
	r.Header.Set("Slot", "42")
	r.Header.Set("Accept-Codec", "httpsig@1.0")
	r.Header.Set("Signing-Format", "httpsig")
	if err := httpsig.SignRequest(r, body, w.RSAPrivateKey()); err != nil {
		b.Fatal(err)
	}
	return r, body
}

func BenchmarkVerifyRequest(b *testing.B) {
	r, body := benchRequest(b, benchKey(b))
	b.ResetTimer()
	for b.Loop() {
		if _, err := httpsig.Verify(r, body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeRequest(b *testing.B) {
	r, body := benchRequest(b, benchKey(b))
	b.ResetTimer()
	for b.Loop() {
		if _, err := httpsig.DecodeRequest(r.Header, body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignResponse beside BenchmarkWalletSign (the wallet's ANS-104 RSA-PSS signature, CRT halves on
// two cores): what answering accept-codec: httpsig@1.0 costs next to signing an item.
func BenchmarkSignResponse(b *testing.B) {
	w := benchKey(b)
	body := []byte(`{"slot":42}`)
	b.ResetTimer()
	for b.Loop() {
		h := http.Header{}
		h.Set("Content-Type", "application/json")
		h.Set("Slot", "42")
		if err := httpsig.SignResponse(h, body, w.RSAPrivateKey()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWalletSign(b *testing.B) {
	w := benchKey(b)
	msg := bytes.Repeat([]byte("m"), 48)
	b.ResetTimer()
	for b.Loop() {
		if _, err := w.Sign(msg); err != nil {
			b.Fatal(err)
		}
	}
}
