package mu

import "time"

// Link is one crank link: the result of message Parent, computed by ParentProcess, made the MU send, spawn or
// assign Child. The store records one for every child task with an item id that an Advance or AdvanceMonitor
// inserts (a parked child whose outbox entry was invalid has no item, hence no link), so "which message caused
// which" outlives the tasks themselves, which PruneDone removes. Explorers read them to draw message graphs.
type Link struct {
	Seq           int64  // insertion order, unique
	Parent        string // item id of the message whose result was cranked; "" for a cron result
	ParentProcess string // the process that computed that result
	Child         string // id of the child item (for an assignment: the assigned message)
	ChildProcess  string // the process the child is written to (for a spawn: the new process itself)
	Kind          Kind   // KindPush, KindSpawn or KindAssign
	Created       time.Time
}
