package su

import (
	"cmp"
	"slices"
	"strconv"

	"github.com/aogo/aogo/ao"
	"github.com/aogo/aogo/dataitem"
)

// ContentHash is the de-duplication key of a pushed message: the deep hash of the item as if it were signed
// with an empty Arweave owner, over its target, anchor, data and its tags minus Pushed-For sorted by name then
// value. Two pushes of the same outbox message (a retried crank, re-signed, hence a new id) share it.
func ContentHash(it *dataitem.Item) string {
	tags := make([]dataitem.Tag, 0, len(it.Tags))
	for _, t := range it.Tags {
		if t.Name != ao.TagPushedFor {
			tags = append(tags, t)
		}
	}
	slices.SortStableFunc(tags, func(a, b dataitem.Tag) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Value, b.Value))
	})
	h := dataitem.DeepHash(dataitem.List{
		dataitem.Blob("dataitem"),
		dataitem.Blob("1"),
		dataitem.Blob(strconv.Itoa(int(dataitem.Arweave))),
		dataitem.Blob(nil),
		dataitem.Blob(it.Target),
		dataitem.Blob(it.Anchor),
		dataitem.Blob(dataitem.EncodeTags(tags)),
		dataitem.Blob(it.Data),
	})
	return dataitem.B64(h[:])
}
