package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/devnet"
)

func init() {
	register("repl", "an aos-like prompt on a process: repl PID", runRepl)
}

// replInput is where the repl reads lines; tests replace it.
var replInput io.Reader = os.Stdin

const replUsage = `usage: aogo repl PID [--poll 2s] [--url URL] [--wallet FILE] [--data-dir DIR]

Each line is sent to the process as Lua (Action=Eval) and its output printed; a line ending in \ continues
on the next. New Inbox messages are shown as they arrive. .exit (or end of input) leaves; history is appended
to DIR/repl_history.`

// runRepl is `aogo repl`: read Lua, Eval it in the process, print the output and any new Inbox messages.
func runRepl(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("repl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf devClientFlags
	cf.register(fs)
	poll := fs.Duration("poll", 2*time.Second, "how often to look for new Inbox messages (0: only after each line)")
	pos, code, ok := parseVerb(fs, args, 1, replUsage, stderr)
	if !ok {
		return code
	}
	pid := pos[0]
	c, err := cf.dial(ctx)
	if err != nil {
		return clientFail(stderr, "repl", err)
	}
	stdout, stderr = plainFor(stdout), plainFor(stderr)
	r := &repl{c: c, pid: pid, out: stdout}
	if r.seen, err = r.inboxLen(ctx); err != nil {
		return clientFail(stderr, "repl", fmt.Errorf("process %s: %w", pid, err))
	}
	if err := os.MkdirAll(cf.data, 0o700); err != nil {
		return clientFail(stderr, "repl", err)
	}
	hist, err := os.OpenFile(filepath.Join(cf.data, "repl_history"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return clientFail(stderr, "repl", err)
	}
	defer hist.Close()

	lines := make(chan string)
	go func() {
		// Ends with the input; a repl left by .exit or ctx leaves it blocked on the terminal until the
		// process exits, which is how a CLI reading a terminal ends anyway.
		defer close(lines)
		sc := bufio.NewScanner(replInput)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
	}()
	var tick <-chan time.Time
	if *poll > 0 {
		t := time.NewTicker(*poll)
		defer t.Stop()
		tick = t.C
	}
	fmt.Fprintf(stdout, "aogo repl on process %s (.exit to leave)\n", pid)
	var pending []string
	prompt := func() {
		if len(pending) > 0 {
			fmt.Fprint(stdout, "...> ")
		} else {
			fmt.Fprint(stdout, "aos> ")
		}
	}
	prompt()
	for {
		select {
		case <-ctx.Done():
			fmt.Fprintln(stdout)
			return 0
		case <-tick:
			r.showInbox(ctx, stderr)
		case line, ok := <-lines:
			if !ok {
				fmt.Fprintln(stdout)
				return 0
			}
			if len(pending) == 0 && strings.TrimSpace(line) == ".exit" {
				return 0
			}
			if strings.HasSuffix(line, `\`) {
				pending = append(pending, strings.TrimSuffix(line, `\`))
				prompt()
				continue
			}
			code := strings.Join(append(pending, line), "\n")
			pending = nil
			if strings.TrimSpace(code) != "" {
				fmt.Fprintln(hist, strconv.Quote(code))
				r.eval(ctx, code, stderr)
				r.showInbox(ctx, stderr)
			}
			prompt()
		}
	}
}

type repl struct {
	c    *devnet.Client
	pid  string
	out  io.Writer
	seen int // Inbox length already shown
}

func (r *repl) eval(ctx context.Context, code string, stderr io.Writer) {
	res, err := r.c.Eval(ctx, r.pid, code)
	switch {
	case err != nil:
		fmt.Fprintf(stderr, "error: %v\n", err)
	case res.Error != "":
		fmt.Fprintf(r.out, "%s\n", strings.TrimRight(res.Error, "\n"))
	default:
		if out := devnet.OutputText(res.Result); out != "" {
			fmt.Fprintln(r.out, strings.TrimRight(out, "\n"))
		}
	}
}

// dryEval runs Lua on a fork of the process's state (dry-run): reading the Inbox changes nothing.
func (r *repl) dryEval(ctx context.Context, code string) (string, error) {
	res, err := r.c.DryRun(ctx, r.pid, []dataitem.Tag{{Name: "Action", Value: "Eval"}}, code)
	if err != nil {
		return "", err
	}
	if res.Error != "" {
		return "", errors.New(res.Error)
	}
	return strings.TrimSpace(devnet.OutputText(res)), nil
}

func (r *repl) inboxLen(ctx context.Context) (int, error) {
	s, err := r.dryEval(ctx, "return tostring(#Inbox)")
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("#Inbox answered %q", s)
	}
	return n, nil
}

// inboxItem is what the repl shows of an Inbox message.
type inboxItem struct {
	From   string          `json:"From"`
	Action string          `json:"Action"`
	Data   json.RawMessage `json:"Data"`
}

// showInbox prints the Inbox messages that arrived since the last look.
func (r *repl) showInbox(ctx context.Context, stderr io.Writer) {
	n, err := r.inboxLen(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "inbox: %v\n", err)
		return
	}
	if n < r.seen { // aos trims the Inbox when it grows too long
		r.seen = 0
	}
	if n == r.seen {
		return
	}
	s, err := r.dryEval(ctx, fmt.Sprintf(`local json = require("json"); local out = {}
for i = %d, #Inbox do local m = Inbox[i]; out[#out + 1] = { From = m.From, Action = m.Action, Data = m.Data } end
return json.encode(out)`, r.seen+1))
	if err != nil {
		fmt.Fprintf(stderr, "inbox: %v\n", err)
		return
	}
	var items []inboxItem
	if err := json.Unmarshal([]byte(s), &items); err != nil {
		fmt.Fprintf(stderr, "inbox: %v (%q)\n", err, s)
		return
	}
	for i, m := range items {
		data := string(m.Data)
		var str string
		if json.Unmarshal(m.Data, &str) == nil {
			data = str
		}
		fmt.Fprintf(r.out, "\nNew message #%d from %s", r.seen+i+1, m.From)
		if m.Action != "" {
			fmt.Fprintf(r.out, " (Action = %s)", m.Action)
		}
		fmt.Fprintf(r.out, ": %s\n", data)
	}
	r.seen = n
}
