package gateway

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"golang.org/x/sync/semaphore"
)

// What one request may make the gateway hold, and all of them together.
const (
	// maxGraphQLBody bounds a POST /graphql body: the query (at most maxQueryLen) and its variables.
	maxGraphQLBody = 1 << 20
	// maxAnswerBytes bounds a GraphQL answer. The rows a transactions field reads are bounded by half of what
	// is left of it (the page ends early, with hasNextPage true); an answer that outgrows it is refused.
	maxAnswerBytes = 8 << 20
	// maxCost bounds the fields a GraphQL query may resolve, counted before it runs with every connection at
	// its page size (first) and each list of tags as one tag: aliases × first × fields. A full page of 1000
	// transactions with every field costs about 31,000.
	maxCost = 100_000
	// maxGraphQL is how many GraphQL queries run at once; more wait their turn. Each holds at most about
	// 2.5 × maxAnswerBytes (its rows, its answer tree, the encoded answer).
	maxGraphQL = 4
	// bodyWait is how long a request waits for room in the body budget before it is refused with 503.
	bodyWait = 10 * time.Second
	// bodyStep is how much of the body budget a body of unknown length (chunked) takes at a time.
	bodyStep = 256 << 10
)

// errBusy refuses a request the gateway has no memory for now (503): the client may retry.
var errBusy = errors.New("gateway: busy: too many request bodies in memory; retry later")

// limits is the gateway's memory budget for requests.
type limits struct {
	bodies  *semaphore.Weighted // bytes of request bodies held at once (Config.MaxBodyMemory)
	spool   *semaphore.Weighted // bytes of uploads being spooled to disk at once (Config.MaxSpoolBytes)
	graphql *semaphore.Weighted // GraphQL queries running at once
}

func newLimits(cfg Config) *limits {
	return &limits{bodies: semaphore.NewWeighted(cfg.MaxBodyMemory), spool: semaphore.NewWeighted(cfg.MaxSpoolBytes),
		graphql: semaphore.NewWeighted(maxGraphQL)}
}

// readBody reads r's body of at most limit bytes into memory taken from the body budget; release returns it
// (call it once the body is no longer used, also after an error). A body whose Content-Length is over limit is
// refused before a byte of it is read; one of unknown length is read in steps, each first taken from the
// budget, and refused as soon as it passes limit.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, limit int64) (body []byte, release func(), err error) {
	held := int64(0)
	release = func() {
		if held > 0 {
			s.limits.bodies.Release(held)
			held = 0
		}
	}
	take := func(n int64) error {
		ctx, cancel := context.WithTimeout(r.Context(), bodyWait)
		defer cancel()
		if err := s.limits.bodies.Acquire(ctx, n); err != nil {
			if r.Context().Err() != nil {
				return r.Context().Err()
			}
			return errBusy
		}
		held += n
		return nil
	}
	if r.ContentLength > limit {
		return nil, release, &http.MaxBytesError{Limit: limit}
	}
	rd := http.MaxBytesReader(w, r.Body, limit)
	if r.ContentLength >= 0 {
		if err := take(r.ContentLength); err != nil {
			return nil, release, err
		}
		body = make([]byte, r.ContentLength)
		if _, err := io.ReadFull(rd, body); err != nil {
			return nil, release, invalid("read body: %w", err)
		}
		return body, release, nil
	}
	// Chunked: grow by doubling, taking each new capacity from the budget before allocating it.
	for {
		if len(body) == cap(body) {
			grow := min(max(int64(cap(body)), bodyStep), limit+1-int64(cap(body)))
			if grow <= 0 {
				return nil, release, &http.MaxBytesError{Limit: limit}
			}
			if err := take(grow); err != nil {
				return nil, release, err
			}
			nb := make([]byte, len(body), int64(cap(body))+grow)
			copy(nb, body)
			body = nb
		}
		n, err := rd.Read(body[len(body):cap(body)])
		body = body[:len(body)+n]
		if errors.Is(err, io.EOF) {
			return body, release, nil
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, release, err
			}
			return nil, release, invalid("read body: %w", err)
		}
	}
}

// answerBudget is what a GraphQL answer may still use, in bytes of JSON plus the tree that holds it.
type answerBudget struct{ left int64 }

// charge takes n bytes; it fails once the answer has outgrown maxAnswerBytes.
func (b *answerBudget) charge(n int) error {
	b.left -= int64(n)
	if b.left < 0 {
		return queryErrorf("The answer would be larger than %d bytes: ask for fewer items (first) or fewer fields, and page with after.", maxAnswerBytes)
	}
	return nil
}

// answerCap is the capacity of a buffer that holds data's JSON without regrowing: an answer's tree was charged
// at least 48 bytes per field besides the field's key and string value, more than its JSON adds.
func answerCap(data jsonObject) int {
	n := 64
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case jsonObject:
			for _, f := range x {
				n += len(f.key) + 4
				walk(f.val)
			}
		case []any:
			for _, e := range x {
				n++
				walk(e)
			}
		case string:
			n += len(x) + 2
		default:
			n += 24
		}
	}
	walk(data)
	return n
}

// costError refuses a query over maxCost before it runs.
func costError(cost int) error {
	return queryErrorf("The query would resolve more than %d fields (counted %d before stopping): ask for fewer items (first), fewer aliases or fewer fields, and page with after.", maxCost, cost)
}
