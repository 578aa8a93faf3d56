// Package httpd is how aogo serves HTTP to clients it does not trust. It owns three things every unit
// command and `aogo dev` share:
//
//   - NewServer: the http.Server with header, body, write and idle timeouts, a header size limit and a cap on
//     concurrent connections, so a flood of slow or idle connections holds a stated amount of memory
//     (Limits.MaxConns × a few tens of KiB) for a stated time;
//   - the operator token: operator routes (metrics, status, parked-task retry) answer only requests that
//     carry it as "Authorization: Bearer <token>", and never carry CORS headers (RequireToken, LoadOrCreateToken);
//   - CheckHost: on a loopback listener, requests must name a loopback host, so a web page cannot reach a
//     developer's local network through DNS rebinding.
//
// The public protocol routes stay open to any origin (aoconnect runs in browsers); see SECURITY.md.
package httpd
