// Package console is iisync's HTTP face: the JSON API under /api/ (channels,
// message search, the full record of one message, reprocess and resend), the
// Prometheus endpoint /metrics, and the probes /healthz and /readyz. It
// serves on the same http.ServeMux the engine mounts its HTTP sources on.
//
// Message content is PHI. Search results carry only header fields (control
// ID, type, sender), statuses and error codes; the one route that returns
// content, GET /api/messages/{id}, writes an audit line ("phi accessed")
// naming the message, the remote address and the caller, never the content.
//
// It imports channels, channels/store, prometheus and conf/field; never conf
// or cmd. It starts no goroutines outside Serve, and handles no signals.
package console
