package weavedrive

import (
	"errors"
	"fmt"
	"slices"
)

// Availability types (the Availability-Type tag).
const (
	Assignments = "Assignments"
	Individual  = "Individual"
	Library     = "Library"
)

// Tag is a name/value pair (a process's or module's tag, or a GraphQL tag filter with one value).
type Tag struct{ Name, Value string }

// ErrNotAdmitted is what Decide returns in Library mode for data no attestation admits: the reference
// drive throws, so the message cannot be evaluated (a host failure, not a result).
var ErrNotAdmitted = errors.New("weavedrive: Library mode: data not attested")

// ErrMode is returned for an Availability-Type the reference does not know (it throws too).
var ErrMode = errors.New("weavedrive: unsupported Availability-Type")

// Policy is what a process's tags say about WeaveDrive, computed once per process.
type Policy struct {
	Enabled   bool     // Extension: WeaveDrive on the module or the process
	Mode      string   // Assignments, Individual or Library
	Attestors []string // the Scheduler, then each Attestor (addresses whose items admit data)
	OnBoot    string   // the On-Boot id, always admitted
	modeErr   error
}

// last returns the last value of name in tags (the reference's getTagValue), and whether there is one.
func last(tags []Tag, name string) (string, bool) {
	for i := len(tags) - 1; i >= 0; i-- {
		if tags[i].Name == name {
			return tags[i].Value, true
		}
	}
	return "", false
}

func all(tags []Tag, name string) []string {
	var out []string
	for _, t := range tags {
		if t.Name == name {
			out = append(out, t.Value)
		}
	}
	return out
}

// PolicyOf reads the policy from the process's and module's tags, as the reference's checkAdmissible.
func PolicyOf(process, module []Tag) Policy {
	p := Policy{
		Enabled: slices.Contains(all(module, "Extension"), "WeaveDrive") || slices.Contains(all(process, "Extension"), "WeaveDrive"),
		Mode:    Assignments,
	}
	if v, ok := last(module, "Availability-Type"); ok && v != "" {
		p.Mode = v
	}
	if v, ok := last(process, "Availability-Type"); ok && v != "" {
		p.Mode = v
	}
	if p.Mode != Assignments && p.Mode != Individual && p.Mode != Library {
		p.modeErr = fmt.Errorf("%w: %q", ErrMode, p.Mode)
	}
	if v, ok := last(process, "Scheduler"); ok && v != "" {
		p.Attestors = append(p.Attestors, v)
	}
	for _, v := range all(process, "Attestor") {
		if v != "" {
			p.Attestors = append(p.Attestors, v)
		}
	}
	p.OnBoot, _ = last(process, "On-Boot")
	return p
}

// Query is one attestation lookup: an item owned by one of Owners with all of Tags, at or below a height.
type Query struct {
	Owners []string
	Tags   []Tag
}

// Plan says how to decide on id: Admit (no lookup needed), Deny, or run Queries in order (data is
// admitted when one finds an item at or below the message's height; see Decide).
type Plan struct {
	Admit, Deny bool
	Queries     []Query
}

// PlanFor returns the plan for reading /data/<id>. It fails like the reference for an unknown mode.
func (p Policy) PlanFor(id string) (Plan, error) {
	if p.OnBoot != "" && p.OnBoot == id {
		return Plan{Admit: true}, nil
	}
	if !p.Enabled {
		return Plan{Deny: true}, nil
	}
	if p.modeErr != nil {
		return Plan{}, p.modeErr
	}
	if len(p.Attestors) == 0 {
		// The reference's query with owners: [] matches nothing; Library mode then throws.
		if p.Mode == Library {
			return Plan{}, ErrNotAdmitted
		}
		return Plan{Deny: true}, nil
	}
	qs := []Query{{Owners: p.Attestors, Tags: []Tag{{"Type", "Attestation"}, {"Message", id}, {"Data-Protocol", "ao"}}}}
	if p.Mode == Individual {
		qs = append(qs, Query{Owners: p.Attestors, Tags: []Tag{{"Type", "Available"}, {"ID", id}, {"Data-Protocol", "WeaveDrive"}}})
	}
	return Plan{Queries: qs}, nil
}

// Decide turns the queries' answers (found[i] for Queries[i]) into admitted or not; in Library mode,
// data none admits is ErrNotAdmitted.
func (p Policy) Decide(found []bool) (bool, error) {
	if slices.Contains(found, true) {
		return true, nil
	}
	if p.Mode == Library {
		return false, ErrNotAdmitted
	}
	return false, nil
}

// AttestationTags are the tags of the item that admits /data/<id> in every mode (signed by the process's
// Scheduler or one of its Attestors): what the Assignments query looks for.
func AttestationTags(id string) []Tag {
	return []Tag{{"Data-Protocol", "ao"}, {"Type", "Attestation"}, {"Message", id}}
}
