// Package ao is the protocol vocabulary shared by the units: item types, tag names, the checks each unit applies
// to incoming items, limits and cron parsing, and the assignment hash chain. It knows nothing of HTTP or storage.
package ao

import (
	"fmt"
	"strings"

	"github.com/aogo/aogo/dataitem"
)

// Item types (the value of the Type tag).
const (
	TypeProcess           = "Process"
	TypeMessage           = "Message"
	TypeModule            = "Module"
	TypeAssignment        = "Assignment"
	TypeSchedulerLocation = "Scheduler-Location"
	TypeCheckpoint        = "Checkpoint"
)

// Tag names.
const (
	TagDataProtocol   = "Data-Protocol"
	TagVariant        = "Variant"
	TagType           = "Type"
	TagModule         = "Module"
	TagScheduler      = "Scheduler"
	TagProcess        = "Process"
	TagMessage        = "Message"
	TagEpoch          = "Epoch"
	TagNonce          = "Nonce"
	TagHashChain      = "Hash-Chain"
	TagBlockHeight    = "Block-Height"
	TagTimestamp      = "Timestamp"
	TagExclude        = "Exclude"
	TagModuleFormat   = "Module-Format"
	TagInputEncoding  = "Input-Encoding"
	TagOutputEncoding = "Output-Encoding"
	TagMemoryLimit    = "Memory-Limit"
	TagComputeLimit   = "Compute-Limit"
	TagCronInterval   = "Cron-Interval"
	TagCronTagPrefix  = "Cron-Tag-"
	TagFromProcess    = "From-Process"
	TagFromModule     = "From-Module"
	TagPushedFor      = "Pushed-For"
	TagURL            = "Url"
	TagTimeToLive     = "Time-To-Live"
	TagAuthority      = "Authority"
	TagOnBoot         = "On-Boot"
	TagContentType    = "Content-Type"
	TagAction         = "Action"
	TagReference      = "Reference"
)

// Protocol values.
const (
	DataProtocol = "ao"
	Variant      = "ao.TN.1"
)

// TypeOf returns the item's ao type: the Type tag (or "type", as the reference SU also accepts) when the item
// carries Data-Protocol: ao; "" otherwise.
func TypeOf(tags []dataitem.Tag) string {
	isAO := false
	typ := ""
	for _, t := range tags {
		switch t.Name {
		case TagDataProtocol:
			if t.Value == DataProtocol {
				isAO = true
			}
		case TagType, "type":
			if typ == "" {
				typ = t.Value
			}
		}
	}
	if !isAO {
		return ""
	}
	return typ
}

// ValidationError is a protocol violation by an item; units answer it with a 4xx.
type ValidationError struct{ Reason string }

func (e *ValidationError) Error() string { return e.Reason }

func invalid(format string, args ...any) error {
	return &ValidationError{Reason: fmt.Sprintf(format, args...)}
}

// CheckLinkTags rejects tags whose name or value ends with "+link", as the reference SU does.
func CheckLinkTags(tags []dataitem.Tag) error {
	for _, t := range tags {
		if strings.HasSuffix(t.Name, "+link") || strings.HasSuffix(t.Value, "+link") {
			return invalid("tag %q: +link tags are not accepted", t.Name)
		}
	}
	return nil
}

// CheckProcess applies the checks an SU makes to a Process item: ao Data-Protocol, a Module and a Scheduler.
func CheckProcess(it *dataitem.Item) error {
	if TypeOf(it.Tags) != TypeProcess {
		return invalid("not an ao Process item (needs Data-Protocol: ao and Type: Process)")
	}
	if v, ok := it.Tag(TagModule); !ok || v == "" {
		return invalid("Process item has no Module tag")
	}
	if v, ok := it.Tag(TagScheduler); !ok || v == "" {
		return invalid("Process item has no Scheduler tag")
	}
	return CheckLinkTags(it.Tags)
}

// CheckMessage applies the checks an SU makes to a Message item: ao Data-Protocol and a target process.
func CheckMessage(it *dataitem.Item) error {
	if TypeOf(it.Tags) != TypeMessage {
		return invalid("not an ao Message item (needs Data-Protocol: ao and Type: Message)")
	}
	if len(it.Target) == 0 {
		return invalid("Message item has no target process")
	}
	return CheckLinkTags(it.Tags)
}
