package devnet

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/aogo/aogo/ao"
	"github.com/aogo/aogo/aos"
	"github.com/aogo/aogo/dataitem"
	"github.com/aogo/aogo/gateway"
)

// Module describes a wasm module to publish as an ao Module item.
type Module struct {
	Wasm   []byte
	Format string // Module-Format, e.g. wasm64-unknown-emscripten-draft_2024_02_15
	// MemoryLimit and ComputeLimit become the Memory-Limit and Compute-Limit tags ("" leaves a tag out: the
	// process must then carry it). Memory-Limit takes the reference's forms ("1-gb", "536870912-b").
	MemoryLimit  string
	ComputeLimit string
	Tags         []dataitem.Tag // extra tags (Name, Extension, …), after the protocol tags
}

// Default limits of published modules: the reference CU's maxima.
const (
	DefaultMemoryLimit  = "1-gb"
	DefaultComputeLimit = "9000000000000"
)

// AosModule is aogo's own aos module with the limits and name it is published with.
func AosModule() Module {
	m := Module{Wasm: aos.Module, Format: aos.Format}
	for _, t := range aos.ModuleTags {
		switch t.Name {
		case "Memory-Limit":
			m.MemoryLimit = t.Value
		case "Compute-Limit":
			m.ComputeLimit = t.Value
		case "Name":
			m.Tags = append(m.Tags, dataitem.Tag{Name: t.Name, Value: t.Value})
		}
	}
	return m
}

// Item builds and signs the Module item with the tags dev-cli publishes (docs: reference Module tags). A
// deterministic signer (ed25519) gives the same id for the same module every time.
func (m Module) Item(s dataitem.Signer) (*dataitem.Item, error) {
	if len(m.Wasm) == 0 {
		return nil, errors.New("module: empty wasm")
	}
	if m.Format == "" {
		return nil, errors.New("module: Module-Format is required")
	}
	tags := []dataitem.Tag{
		{Name: ao.TagDataProtocol, Value: ao.DataProtocol},
		{Name: "Type", Value: "Module"},
		{Name: "Module-Format", Value: m.Format},
		{Name: "Input-Encoding", Value: "JSON-1"},
		{Name: "Output-Encoding", Value: "JSON-1"},
		{Name: "Variant", Value: "ao.TN.1"},
		{Name: "Content-Type", Value: "application/wasm"},
	}
	if m.MemoryLimit != "" {
		if _, err := ao.ParseMemoryLimit(m.MemoryLimit); err != nil {
			return nil, fmt.Errorf("module: Memory-Limit %q: %w", m.MemoryLimit, err)
		}
		tags = append(tags, dataitem.Tag{Name: "Memory-Limit", Value: m.MemoryLimit})
	}
	if m.ComputeLimit != "" {
		if _, err := strconv.ParseUint(m.ComputeLimit, 10, 64); err != nil {
			return nil, fmt.Errorf("module: Compute-Limit %q is not a whole number", m.ComputeLimit)
		}
		tags = append(tags, dataitem.Tag{Name: "Compute-Limit", Value: m.ComputeLimit})
	}
	tags = append(tags, m.Tags...)
	if err := dataitem.CheckTags(tags); err != nil {
		return nil, fmt.Errorf("module: %w", err)
	}
	it := &dataitem.Item{Tags: tags, Data: m.Wasm}
	if err := it.Sign(s); err != nil {
		return nil, fmt.Errorf("module: sign: %w", err)
	}
	return it, nil
}

// Publish uploads a signed Module item to the gateway unless the gateway already has it. It reports whether
// it uploaded.
func Publish(ctx context.Context, gw *gateway.Client, it *dataitem.Item) (bool, error) {
	if _, err := gw.Status(ctx, it.ID()); err == nil {
		return false, nil
	} else if !errors.Is(err, gateway.ErrNotFound) {
		return false, fmt.Errorf("publish module %s: %w", it.ID(), err)
	}
	raw, err := it.Bytes()
	if err != nil {
		return false, fmt.Errorf("publish module %s: %w", it.ID(), err)
	}
	if err := gw.Upload(ctx, raw); err != nil {
		return false, fmt.Errorf("publish module %s: %w", it.ID(), err)
	}
	return true, nil
}
