package devnet_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/devnet"
)

// bigText is n bytes of text as a user might send (words, quotes, markup, accents, an emoji, newlines), so
// the message's JSON escapes some of it, and a character is never cut (n is rounded down to whole lines).
func bigText(n int) string {
	const line = `Lorem "ipsum" <b>dolor</b> sit amet & café, naïve 😀 {"k": [1, 2]} \ tab	end` + "\n"
	return strings.Repeat(line, n/len(line))
}

// TestBigMessages is issue 17 item 1 as its user met it: on `aogo dev` with the default module (ours), a
// process takes a 1.5 MB and a 9.9 MB message (the MU takes items up to 10 MiB) and its handler sees every
// byte; an Eval of 1.5 MB of code runs; and the process goes on with small messages. With a 1 MiB wasm
// stack the module held only ~258 KB of message (the v2 glue reserves 4 bytes per character on the stack)
// and every bigger one ended in an Error.
func TestBigMessages(t *testing.T) {
	n := startNet(t, t.TempDir())
	c := userClient(t, n)
	ctx := context.Background()
	pid, err := c.Spawn(ctx, devnet.Spawn{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.Eval(ctx, pid, `Handlers.add("size", Handlers.utils.hasMatchingTag("Action", "Size"), function(m)
  Sizes = (Sizes or 0) + 1
  print(#m.Data .. " " .. m.Data:sub(1, 12) .. "|" .. m.Data:sub(-13))
end); return "ok"`)
	if err != nil || r.Error != "" || devnet.OutputText(r.Result) != "ok" {
		t.Fatalf("add handler: %v %q %q", err, r.Error, devnet.OutputText(r.Result))
	}
	for _, size := range []int{1_500_000, 9_900_000} {
		data := bigText(size)
		mid, err := c.Send(ctx, pid, []dataitem.Tag{{Name: "Action", Value: "Size"}}, []byte(data))
		if err != nil {
			t.Fatalf("%d bytes: send: %v", len(data), err)
		}
		r, err := c.Result(ctx, pid, mid)
		if err != nil {
			t.Fatalf("%d bytes: result: %v", len(data), err)
		}
		want := fmt.Sprintf("%d %s|%s", len(data), data[:12], data[len(data)-13:])
		if r.Error != "" || devnet.OutputText(r.Result) != want {
			t.Fatalf("%d bytes: Error %q, output %.200q, want %q", len(data), r.Error, devnet.OutputText(r.Result), want)
		}
	}
	// 1.5 MB of Lua: a long string literal whose length the code returns.
	code := "return #[[" + bigText(1_500_000) + "]]"
	r, err = c.Eval(ctx, pid, code)
	if err != nil || r.Error != "" {
		t.Fatalf("eval of %d bytes: %v %q", len(code), err, r.Error)
	}
	if got, want := devnet.OutputText(r.Result), fmt.Sprint(len(code)-len("return #[[]]")); got != want {
		t.Fatalf("eval of %d bytes returned %q, want %s", len(code), got, want)
	}
	r, err = c.Eval(ctx, pid, "return Sizes")
	if err != nil || r.Error != "" || devnet.OutputText(r.Result) != "2" {
		t.Fatalf("after the big messages: %v %q %q, want 2", err, r.Error, devnet.OutputText(r.Result))
	}
}
