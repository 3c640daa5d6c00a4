// Package channels is the engine: each channel takes messages from a source,
// parses, filters and transforms them, commits them durably (channels/store)
// before acknowledging, and delivers them to its destinations from durable
// per-destination queues with retries, per-patient ordering, dead letters and
// a return channel to the EHR. It imports channels/store, gateway/...,
// transforms/... and conf/field; it never imports conf, console, sandbox or cmd.
package channels
