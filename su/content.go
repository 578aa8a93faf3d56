package su

import (
	"cmp"
	"slices"
	"strconv"

	"github.com/aogo/aogo/ao"
	"github.com/aogo/aogo/dataitem"
)

// ContentHash is the de-duplication key of a pushed message: the deep hash of the item's signature type, owner,
// target, anchor, data and its tags minus Pushed-For sorted by name then value. Two pushes of the same outbox
// message by the same MU (a retried crank, re-signed, hence a new id) share it.
//
// The owner is part of the key. The reference SU hashes with a blank owner (ENABLE_DEEP_HASH_CHECKS), so
// anyone who can predict a process's next outbox message (a free dry-run shows it, anchor included) can sign
// the same content with their own key, post it first, and have the MU's genuine push refused as a duplicate:
// the target then holds only the forgery, which aos drops as untrusted, and the message is lost. Keyed on the
// owner, a copy signed by anyone else is a different message and never stands in for the signer's own.
//
// Slots written before the owner was part of the key keep their ownerless hash, which no new push matches: a
// forgery stored then cannot suppress a push made now.
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
		dataitem.Blob(strconv.Itoa(int(it.SignatureType))),
		dataitem.Blob(it.Owner),
		dataitem.Blob(it.Target),
		dataitem.Blob(it.Anchor),
		dataitem.Blob(dataitem.EncodeTags(tags)),
		dataitem.Blob(it.Data),
	})
	return dataitem.B64(h[:])
}
