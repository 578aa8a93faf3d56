package ao

import "github.com/aogo/aogo/dataitem"

// Tag is dataitem.Tag: one name/value pair.
type Tag = dataitem.Tag
