// Package registry is the Sync Registry: for one patient, query the state
// registry in real time, compare its history with the local chart, and fix
// both sides.
//
// The local chart is a mirror of the EHR's record, built from the VXUs the
// EHR sends through a channel with a sync section: a follower (Service.Start)
// reads every stored message once, in ID order, and folds the VXUs into the
// patient's chart (transforms/iis/chart). Charts are store records, so they
// outlive message retention.
//
// A query builds a QBP^Q11 (Z44 or Z34) from the chart, submits it at once
// through the channel's iis destination (channels.Engine.Submit), parses the
// answer (transforms/iis/query) and keeps it as the patient's sync session.
// A View of the session compares the chart as it is now with the registry's
// answer (transforms/iis/reconcile) and lays it out as the window's tabs:
// Immunizations, Indicators, IIS Forecast, Chart Demographics and IIS
// Demographics, with the three-part status (Message Status, Query Quality,
// the registry's errors and warnings).
//
// The actions change one side or the other:
//
//   - Import: registry-only doses go to the EHR as historical doses with
//     the registry as their source (RXA-9 05), on the return channel.
//   - Send: local-only doses (and the demographics) go to the registry as a
//     VXU, through the channel's transforms and pre-flight validation.
//   - Reconcile: a local historical dose takes the registry's record of the
//     same vaccine group (RXA-21 U to the EHR).
//   - Delete: local doses are deleted in the EHR (RXA-21 D).
//   - Refresh, Select, Unselect, Drop (forget the registry ID), Link (pick
//     a candidate of a Z31 list), Ping.
//
// Every message the Sync Registry writes is stored like any other (Source
// "registry"), so `iisync messages` lists it; every action is recorded in
// the patient's audit trail with who, when, what, the outcome and the raw
// messages.
//
// # PHI
//
// Charts, sessions and audit entries hold PHI; they live in the encrypted
// store only. Store keys name a chart by a keyed pseudonym of its facility
// and MRN (Engine.PatientRef); logs, views and the stored messages name
// the patient by patient_ref (Engine.PatientRef of the MRN, as every stored
// message does). Errors carry positions and counts, never values.
//
// # Locks
//
// Service.mu serialises every change to charts and sessions (the follower
// and the actions); it is never held while waiting on the registry.
package registry
