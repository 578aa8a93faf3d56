package verify_test

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/gateway"
	"github.com/aogo/aogo/verify"
	"github.com/aogo/aogo/wallet"
)

func TestGatewayDrive(t *testing.T) {
	gw := gateway.NewClient(startGateway(t), nil)
	w, _ := wallet.Generate(wallet.ED25519)
	it := &dataitem.Item{Data: []byte(strings.Repeat("weave", 1000))}
	if err := it.Sign(w); err != nil {
		t.Fatal(err)
	}
	raw, _ := it.Bytes()
	if err := gw.Upload(context.Background(), raw); err != nil {
		t.Fatal(err)
	}
	d := verify.GatewayDrive{GW: gw}
	f, err := d.Open(context.Background(), "/data/"+it.ID())
	if err != nil || f == nil || f.Size() != 5000 {
		t.Fatalf("open: %v %v", f, err)
	}
	b, _ := io.ReadAll(io.NewSectionReader(f, 0, f.Size()))
	if string(b[:10]) != "weaveweave" {
		t.Fatalf("read %q", b[:10])
	}
	for _, p := range []string{"/data/" + dataitem.B64(make([]byte, 32)), "/tx/" + it.ID(), "/etc/passwd", "/data/"} {
		if f, err := d.Open(context.Background(), p); f != nil || err != nil {
			t.Fatalf("%s: %v %v, want a missing file", p, f, err)
		}
	}
	if f, err := (verify.GatewayDrive{GW: gw, MaxBytes: 100}).Open(context.Background(), "/data/"+it.ID()); err == nil || f != nil {
		t.Fatal("a file over MaxBytes opened")
	}
}
