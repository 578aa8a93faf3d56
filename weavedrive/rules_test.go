package weavedrive

import (
	"errors"
	"reflect"
	"testing"
)

func TestPolicyAndPlan(t *testing.T) {
	const id = "DATA_ID_000000000000000000000000000000000000"
	att := func(owners ...string) Query {
		return Query{Owners: owners, Tags: []Tag{{"Type", "Attestation"}, {"Message", id}, {"Data-Protocol", "ao"}}}
	}
	avail := func(owners ...string) Query {
		return Query{Owners: owners, Tags: []Tag{{"Type", "Available"}, {"ID", id}, {"Data-Protocol", "WeaveDrive"}}}
	}
	ext := Tag{"Extension", "WeaveDrive"}
	sched := Tag{"Scheduler", "SU"}
	for _, c := range []struct {
		name            string
		process, module []Tag
		plan            Plan
		err             error
		mode            string
	}{
		{name: "no extension", process: []Tag{sched}, plan: Plan{Deny: true}, mode: Assignments},
		{name: "on-boot without extension", process: []Tag{sched, {"On-Boot", id}}, plan: Plan{Admit: true}, mode: Assignments},
		{name: "module extension", process: []Tag{sched}, module: []Tag{ext}, plan: Plan{Queries: []Query{att("SU")}}, mode: Assignments},
		{name: "process extension, attestors", process: []Tag{ext, {"Attestor", "A1"}, sched, {"Attestor", "A2"}},
			plan: Plan{Queries: []Query{att("SU", "A1", "A2")}}, mode: Assignments},
		{name: "last Scheduler wins", process: []Tag{ext, {"Scheduler", "OLD"}, sched}, plan: Plan{Queries: []Query{att("SU")}}, mode: Assignments},
		{name: "individual", process: []Tag{ext, sched, {"Availability-Type", "Individual"}},
			plan: Plan{Queries: []Query{att("SU"), avail("SU")}}, mode: Individual},
		{name: "module mode, process overrides", process: []Tag{ext, sched, {"Availability-Type", "Assignments"}},
			module: []Tag{{"Availability-Type", "Individual"}}, plan: Plan{Queries: []Query{att("SU")}}, mode: Assignments},
		{name: "module mode", process: []Tag{ext, sched}, module: []Tag{{"Availability-Type", "Library"}},
			plan: Plan{Queries: []Query{att("SU")}}, mode: Library},
		{name: "unknown mode", process: []Tag{ext, sched, {"Availability-Type", "Everything"}}, err: ErrMode, mode: "Everything"},
		{name: "no attestors", process: []Tag{ext}, plan: Plan{Deny: true}, mode: Assignments},
		{name: "no attestors, library", process: []Tag{ext, {"Availability-Type", "Library"}}, err: ErrNotAdmitted, mode: Library},
		{name: "other id on boot", process: []Tag{sched, {"On-Boot", "OTHER"}}, plan: Plan{Deny: true}, mode: Assignments},
	} {
		t.Run(c.name, func(t *testing.T) {
			pol := PolicyOf(c.process, c.module)
			if pol.Mode != c.mode {
				t.Fatalf("mode %q, want %q", pol.Mode, c.mode)
			}
			plan, err := pol.PlanFor(id)
			if !errors.Is(err, c.err) {
				t.Fatalf("err %v, want %v", err, c.err)
			}
			if err == nil && !reflect.DeepEqual(plan, c.plan) {
				t.Fatalf("plan %+v, want %+v", plan, c.plan)
			}
		})
	}
}

func TestDecide(t *testing.T) {
	for _, c := range []struct {
		mode  string
		found []bool
		ok    bool
		err   error
	}{
		{Assignments, []bool{false}, false, nil},
		{Assignments, []bool{true}, true, nil},
		{Individual, []bool{false, false}, false, nil},
		{Individual, []bool{false, true}, true, nil},
		{Library, []bool{true}, true, nil},
		{Library, []bool{false}, false, ErrNotAdmitted},
	} {
		ok, err := Policy{Mode: c.mode}.Decide(c.found)
		if ok != c.ok || !errors.Is(err, c.err) {
			t.Errorf("%s %v: %v %v, want %v %v", c.mode, c.found, ok, err, c.ok, c.err)
		}
	}
}
