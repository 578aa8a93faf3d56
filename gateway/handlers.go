package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/aogo/aogo/dataitem"
)

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError maps an error to its HTTP status, the one place the gateway does so.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusInternalServerError
	var mbe *http.MaxBytesError
	switch {
	case errors.Is(err, ErrNotFound):
		status = http.StatusNotFound
	case errors.As(err, &mbe):
		status = http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrInvalid):
		status = http.StatusBadRequest
	case errors.Is(err, errBusy), errors.Is(err, errNoSpace):
		status = http.StatusServiceUnavailable
	}
	switch {
	case status != http.StatusInternalServerError:
	case r.Context().Err() != nil:
		// The client went away (a unit shutting down mid-upload): nothing failed on our side.
		s.log.Debug("gateway request abandoned by its client", "method", r.Method, "path", r.URL.Path, "err", err)
	default:
		s.log.Error("gateway request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeJSON(w, status, map[string]string{"error": err.Error()})
}

// handleUpload stores a POSTed item or bundle: a small body of known length from memory, any other from a
// spool file (upload.go), so an upload costs bounded memory whatever its size.
func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength > s.cfg.MaxBodySize {
		s.writeError(w, r, &http.MaxBytesError{Limit: s.cfg.MaxBodySize})
		return
	}
	var res UploadResult
	var err error
	if r.ContentLength >= 0 && r.ContentLength <= memBodyMax {
		var body []byte
		var release func()
		body, release, err = s.readBody(w, r, s.cfg.MaxBodySize)
		if err == nil {
			res, err = s.Put(r.Context(), body)
		}
		release()
	} else {
		var f *os.File
		var size int64
		var done func()
		f, size, done, err = s.spool(w, r, s.cfg.MaxBodySize)
		if err == nil {
			res, err = s.put(r.Context(), f, size, f, nil)
		}
		done()
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// validID rejects ids that cannot be an item or transaction id before touching the store.
func validID(id string) error {
	if len(id) != 43 {
		return invalid("invalid id %q: want 43 base64url characters", id)
	}
	if _, err := dataitem.DecodeB64(id); err != nil {
		return invalid("invalid id %q: %v", id, err)
	}
	return nil
}

func (s *Server) lookup(w http.ResponseWriter, r *http.Request) (*itemRow, bool) {
	id := r.PathValue("id")
	if err := validID(id); err != nil {
		// Arweave answers unknown paths under /{id} with 404; a malformed id is "not found" there too.
		if r.Pattern == "GET /{id}" {
			err = fmt.Errorf("%w: %v", ErrNotFound, err)
		}
		s.writeError(w, r, err)
		return nil, false
	}
	row, err := s.store.get(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return nil, false
	}
	return row, true
}

// handleRaw serves an item's data with its Content-Type (range requests included).
func (s *Server) handleRaw(w http.ResponseWriter, r *http.Request) {
	row, ok := s.lookup(w, r)
	if !ok {
		return
	}
	f, err := s.store.open(r.Context(), row)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	defer f.Close()
	ct := row.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("X-Arweave-Id", row.ID)
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	http.ServeContent(w, r, "", noModTime, io.NewSectionReader(f, row.DataOffset, row.DataSize))
}

// handleItem serves the whole signed item.
func (s *Server) handleItem(w http.ResponseWriter, r *http.Request) {
	row, ok := s.lookup(w, r)
	if !ok {
		return
	}
	f, err := s.store.open(r.Context(), row)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(w, r, "", noModTime, io.NewSectionReader(f, 0, row.RawSize))
}

// txJSON is GET /tx/{id}, shaped like Arweave's transaction JSON (tags as base64url name/value).
type txJSON struct {
	Format    int            `json:"format"`
	ID        string         `json:"id"`
	LastTx    string         `json:"last_tx"`
	Anchor    string         `json:"anchor"`
	Owner     string         `json:"owner"`
	Tags      []dataitem.Tag `json:"tags"`
	Target    string         `json:"target"`
	Quantity  string         `json:"quantity"`
	Data      string         `json:"data"`
	DataSize  string         `json:"data_size"`
	DataRoot  string         `json:"data_root"`
	Reward    string         `json:"reward"`
	Signature string         `json:"signature"`
	SigType   int            `json:"signature_type"`
	BundledIn string         `json:"bundled_in,omitempty"`
}

func (s *Server) handleTx(w http.ResponseWriter, r *http.Request) {
	row, ok := s.lookup(w, r)
	if !ok {
		return
	}
	tags := make([]dataitem.Tag, len(row.Tags))
	for i, t := range row.Tags {
		tags[i] = dataitem.Tag{Name: dataitem.B64([]byte(t.Name)), Value: dataitem.B64([]byte(t.Value))}
	}
	writeJSON(w, http.StatusOK, txJSON{
		Format: 2, ID: row.ID, LastTx: row.Anchor, Anchor: row.Anchor, Owner: dataitem.B64(row.Owner), Tags: tags,
		Target: row.Target, Quantity: "0", DataSize: strconv.FormatInt(row.DataSize, 10), Reward: "0",
		Signature: dataitem.B64(row.Signature), SigType: int(row.SigType), BundledIn: row.BundledIn,
	})
}

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	row, ok := s.lookup(w, r)
	if !ok {
		return
	}
	cur := s.chain.height()
	writeJSON(w, http.StatusOK, Status{
		BlockHeight:           row.Height,
		BlockIndepHash:        blockID(row.Height),
		NumberOfConfirmations: cur - min(row.Height, cur) + 1,
	})
}

func (s *Server) handleInfo(w http.ResponseWriter, r *http.Request) {
	h := s.chain.height()
	writeJSON(w, http.StatusOK, Info{
		Network: Network, Version: 5, Release: 1, Height: h, Current: blockID(h), Blocks: h + 1,
	})
}

// blockJSON is a minimal Arweave block.
type blockJSON struct {
	IndepHash     string   `json:"indep_hash"`
	Height        uint64   `json:"height"`
	Timestamp     int64    `json:"timestamp"`
	PreviousBlock string   `json:"previous_block"`
	Txs           []string `json:"txs"`
}

func (s *Server) writeBlock(w http.ResponseWriter, r *http.Request, h uint64) {
	if h < s.chain.start || h > s.chain.height() {
		s.writeError(w, r, fmt.Errorf("block %d: %w", h, ErrNotFound))
		return
	}
	ids, err := s.store.idsAt(r.Context(), h)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	b := s.chain.block(h)
	writeJSON(w, http.StatusOK, blockJSON{IndepHash: b.ID, Height: h, Timestamp: b.Timestamp, PreviousBlock: b.Previous, Txs: ids})
}

func (s *Server) handleBlockHeight(w http.ResponseWriter, r *http.Request) {
	h, err := strconv.ParseUint(r.PathValue("h"), 10, 63)
	if err != nil {
		s.writeError(w, r, invalid("invalid block height %q", r.PathValue("h")))
		return
	}
	s.writeBlock(w, r, h)
}

func (s *Server) handleBlockHash(w http.ResponseWriter, r *http.Request) {
	h, ok := blockHeightOf(r.PathValue("id"))
	if !ok {
		s.writeError(w, r, fmt.Errorf("block %s: %w", r.PathValue("id"), ErrNotFound))
		return
	}
	s.writeBlock(w, r, h)
}

// gqlErrors is a GraphQL error answer.
func gqlErrors(msg string) map[string]any {
	return map[string]any{"errors": []map[string]string{{"message": msg}}}
}

func (s *Server) handleGraphQL(w http.ResponseWriter, r *http.Request) {
	var req graphQLRequest
	if r.Method == http.MethodGet {
		q := r.URL.Query()
		req.Query, req.OperationName = q.Get("query"), q.Get("operationName")
		if v := q.Get("variables"); v != "" {
			if err := decodeJSON(strings.NewReader(v), &req.Variables); err != nil {
				writeJSON(w, http.StatusBadRequest, gqlErrors("invalid variables: "+err.Error()))
				return
			}
		}
	} else {
		body, release, err := s.readBody(w, r, maxGraphQLBody)
		if err != nil {
			release()
			s.writeError(w, r, err)
			return
		}
		err = decodeJSON(bytes.NewReader(body), &req)
		release()
		if err != nil {
			writeJSON(w, http.StatusBadRequest, gqlErrors("invalid GraphQL request body: "+err.Error()))
			return
		}
	}
	if strings.TrimSpace(req.Query) == "" {
		writeJSON(w, http.StatusBadRequest, gqlErrors("Must provide query string."))
		return
	}
	// At most maxGraphQL queries hold their rows and answers at once.
	if err := s.limits.graphql.Acquire(r.Context(), 1); err != nil {
		s.writeError(w, r, err)
		return
	}
	defer s.limits.graphql.Release(1)
	data, err := s.execGraphQL(r.Context(), req)
	if err != nil {
		var qe *queryError
		if errors.As(err, &qe) {
			writeJSON(w, http.StatusBadRequest, gqlErrors(qe.msg))
			return
		}
		s.log.Error("graphql failed", "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]any{"data": nil, "errors": []map[string]string{{"message": err.Error()}}})
		return
	}
	// The tree was charged at least its JSON's length: the buffer needs no regrowth.
	b := make([]byte, 0, answerCap(data))
	b = append(b, `{"data":`...)
	b = appendJSON(b, data)
	b = append(b, "}\n"...)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Write(b)
}

// decodeJSON decodes numbers as json.Number, so Int variables keep their exact value.
func decodeJSON(r io.Reader, v any) error {
	d := json.NewDecoder(r)
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}
