package weavedrive

import (
	"bytes"
	"crypto/rand"
	"testing"
)

// BenchmarkRead reads an 8 MiB item through the drive from the embedded gateway: cold (a fresh cache
// and drive each time: HEAD, then Range requests of ReadAhead blocks) and warm (blocks from the on-disk
// cache shared by a new drive, as another process of the CU would).
func BenchmarkRead(b *testing.B) {
	n := newNet(b)
	data := make([]byte, 8<<20)
	rand.Read(data)
	id := n.post(newWallet(b), data)
	g := NewGateway(n.url, nil)
	read := func(c *Cache) {
		f, err := New(g, Options{Cache: c}).Open(call(0), "/data/"+id)
		if err != nil {
			b.Fatal(err)
		}
		if !bytes.Equal(readAll(b, f), data) {
			b.Fatal("content")
		}
	}
	b.Run("cold", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			c, err := OpenCache(b.TempDir(), 64<<20)
			if err != nil {
				b.Fatal(err)
			}
			read(c)
		}
	})
	b.Run("warm", func(b *testing.B) {
		c, err := OpenCache(b.TempDir(), 64<<20)
		if err != nil {
			b.Fatal(err)
		}
		read(c)
		b.SetBytes(int64(len(data)))
		b.ResetTimer()
		for b.Loop() {
			read(c)
		}
	})
}
