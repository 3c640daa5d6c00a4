// Package channels is the engine: each channel takes messages from a source,
// parses, filters and transforms them, commits them durably (channels/store)
// before acknowledging, and delivers them to its destinations from durable
// per-destination queues with retries, per-patient ordering, dead letters and
// a return channel to the EHR. It imports channels/store, gateway/...,
// transforms/... and conf/field; it never imports conf, console, sandbox or cmd.
//
// Concurrency (STYLE §5). The Engine owns every goroutine it starts: the
// MLLP Serve loops, directory pollers, one worker per destination queue and
// per return queue, and the queue-depth publisher; Shutdown waits for all
// of them. Sources and workers read the running channel through atomic
// pointers, so a reload swaps configuration without stopping them.
//
// Lock order: Engine.applyMu (Start, Apply, Shutdown) before Engine.mu
// before gate.mu. No lock is held across I/O except applyMu.
package channels
