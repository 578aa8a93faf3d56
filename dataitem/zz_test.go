package dataitem
import ("testing";"time";"math/rand";"bytes")
func TestZZSlow(t *testing.T) {
	f := &testing.F{}
	_ = f
	seeds := [][]byte{}
	for _, n := range []string{"item-arweave-plain.bin","item-ethereum-plain.bin","item-ed25519-plain.bin","item-solana-plain.bin"} {
		b, _ := readTestdata(n); seeds = append(seeds, b)
	}
	r := rand.New(rand.NewSource(1))
	for _, s := range seeds {
		for i := 0; i < 200; i++ {
			b := append([]byte{}, s...)
			b[r.Intn(len(b))] ^= byte(1 << r.Intn(8))
			st := time.Now()
			it, err := Decode(b)
			if err == nil { it.Verify(); it.VerifyReader(bytes.NewReader(it.Data), int64(len(it.Data))) }
			if d := time.Since(st); d > 50*time.Millisecond { t.Logf("slow %v type %d", d, b[0]) }
		}
	}
}
