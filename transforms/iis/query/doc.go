// Package query owns iisync's side of the CDC immunization query round trip:
// Build writes the QBP^Q11 that asks a registry (IIS) for a patient's
// history, and Parse reads the RSP^K11 that comes back.
//
// # The round trip
//
// Build turns a local chart (transforms/iis/chart) into a QBP^Q11^QBP_Q11
// (HL7 v2.5.1, CDC IG 1.5). Profile Z44 asks for the evaluated history and
// forecast, Z34 for the history alone. QPD-3 carries the EHR's MRN and, once
// known, the registry's own patient ID (type SR). QPD-4 to QPD-11 carry the
// demographics the registry matches on. RCP-2 caps the number of candidates.
//
// The registry answers with an RSP^K11. Its profile (MSH-21) says what kind
// of answer it is:
//
//   - Z42: one patient, evaluated history and forecast;
//   - Z32: one patient, history only. Many registries send Z32 to a Z44
//     query;
//   - Z31: a list of candidate patients to choose from;
//   - Z33: no patient. QAK-2 says why: NF no match, TM too many, AE/AR the
//     query was in error.
//
// Parse reads any of these into a Response: the patient as a chart.Chart
// (demographics, registry ID, doses, immunity, contraindication and refusal
// indicators), the candidates, and the forecast rows. Forecast statuses are
// normalised across the registries' codings.
//
// # Three-part status
//
// A Response answers three separate questions:
//
//   - Status (MessageStatus): did the exchange work? This comes from MSA-1 and
//     the ERR severities: received, received_with_warnings,
//     received_with_errors, or unreadable. The caller sets not_received
//     (NotReceived) when the transport failed.
//   - Quality: what did the registry find? This comes from QAK-2 and the PID
//     segments: match, no_match, too_many, candidates, rejected, or unknown.
//   - Checks: what should the user know? These are derived observations: the
//     returned patient's name, birth date or sex differ from the query, no
//     forecast came back for a Z44, no registry ID came back, or the registry
//     answered Z32 instead of Z42.
//
// # Leniency
//
// Registries differ from the guide, and Parse follows what they do (shared
// docs/iis-domain.md §4.2). It never fails and never panics. It drops MLLP
// framing and batch wrappers (FHS, BHS, BTS, FTS) and accepts CR, LF and CRLF
// line ends. It reads the first message of a batch. It takes data as
// returned whenever QAK-2 is OK or a PID is present, because several
// registries send MSA AE or QAK AE together with a full history. It finds
// forecast rows by RXA-5 CVX 998, with or without RXA-20 NA. It accepts
// "vaccines due next" (30979-9) in place of "vaccine type" (30956-7), OBX-4
// sub-IDs that restart or never change, and forecast OBX hung on a history
// RXA.
//
// # PHI
//
// Requests and responses carry PHI. Error texts, Response.Reason, Check texts
// and every Words method are built from codes, counts and field names only,
// never from message values. They are safe to log. String, GoString and
// Format on Request, Response and Candidate print only that safe summary.
//
// It is pure: no I/O, no goroutines, no logging. It imports only the standard
// library, transforms/hl7, transforms/iis, transforms/iis/codes and
// transforms/iis/chart.
package query
