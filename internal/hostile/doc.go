// Package hostile holds aogo's hostile-client test suite and nothing else: oversize bodies (by Content-Length
// and chunked), GraphQL amplification, SU paging amplification, slow and idle clients, connection floods,
// malformed items and operator routes, each driven over HTTP against the real units served by the production
// server (internal/httpd), with the memory bound each defence promises asserted from the heap. SECURITY.md
// states the bounds.
package hostile
