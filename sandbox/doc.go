// Package sandbox is an embedded immunization information system (IIS): a
// simulated state immunization registry for demos, tests and training. It
// receives what a CDC WSDL submitSingleMessage call carries — credentials,
// a facility ID and one HL7 v2.5.1 message — and answers the way a registry
// following the CDC Implementation Guide for Immunization Messaging 1.5
// does: a VXU^V04 is validated, stored and acknowledged (ACK, profile Z23);
// a QBP^Q11 query (Z34 or Z44) is answered with an RSP^K11 (Z31, Z32, Z33
// or Z42). It keeps its patients in memory only.
//
// The registry itself (IIS) is transport-free: IIS.Submit returns what to
// answer (a reply, a SOAP fault to raise, or HTTP 503), does no I/O, starts
// no goroutines and does not log. server.go binds it to the CDC WSDL with
// gateway/soap's server helpers (SOAPHandler) and serves it over HTTP and
// HTTPS (Listen), with a self-signed certificate made on first start. The
// package imports the standard library, gateway/soap, transforms/hl7,
// transforms/iis/codes and conf/field.
//
// # What it validates
//
// Every message: it parses (else AR with ERR 0357 100 or 102), has MSH-10
// (else AR, 101) and is version 2.5 or 2.5.1 (else AR, 203). MSH-9 other
// than VXU^V04 or QBP^Q11 gets AR with 200 (unsupported message type), or
// 201 for a VXU or QBP with another event.
//
// A VXU needs a PID with an identifier other than SR in PID-3 (normally MR),
// family and given name, a valid birth date not in the future and a sex of
// F, M, U or X; a missing or bad one rejects the whole message (AR, ERR 101
// / 102 / 103 / 999 with ERR-2 such as PID^1^7). Each RXA is checked on its
// own: RXA-3 present, a date, not before birth, not in the future; RXA-5 a
// known CVX (or an NDC the code tables map to one, primary or alternate
// triplet); RXA-21 A, U or D. A failing dose is not stored and gets an E
// (e.g. 0357 103 at RXA^n^5^1^1, CDC 0533 code 5); the rest of the message
// is stored and the ACK is AE. Warnings (W) leave the dose stored: an
// unknown RXA-17 manufacturer (not saved), an unknown RXA-20, an
// administered dose (RXA-9 00, CP/PA) without the VFC eligibility OBX
// 64994-7, a missing PID-11 address, a delete of an unknown dose. A VXU
// with only warnings gets AA with W ERRs (AE with Behaviour.WarningsAsAE).
// RXA with CVX 998 (no vaccine administered) are ignored. ERR-8 user
// messages name fields, never their values.
//
// # What it stores
//
// A VXU's patient is matched by registry ID (PID-3 type SR), then by an MRN
// the same facility reported, then by family and given name, birth date and
// sex; otherwise it is created with a registry ID "SB" + 7 digits. Its
// demographics are updated from every VXU. Doses follow RXA-21: A adds (an
// add of the same CVX on the same date updates that dose instead), U
// updates the dose named by ORC-3 (the sender's filler ID or the registry's
// dose ID), by ORC-2 from the same facility or by CVX and date (or adds it
// when none matches), D marks it deleted. RXA-20 RE records a refusal, NA a
// dose not administered; RXA-9 is kept as the dose's source. Seed adds a
// patient with a ready-made history, so the registry can disagree with the
// sender's chart; Patients shows everything.
//
// # How it answers queries
//
// QPD-3 is matched first (an SR registry ID, else an MRN from the same
// facility), then QPD-4 name + QPD-6 birth date + QPD-7 sex, with QPD-5
// mother's maiden name breaking ties. One match: Z34 gets a Z32 (history),
// Z44 a Z42 (history with per-dose evaluation OBX — vaccine group, schedule,
// dose number, validity — and a forecast). Several: Z34 gets a Z31 list of
// at most RCP-2 (capped at 20, default 10) candidates, else Z33 TM; Z44
// gets Z33 TM. None: Z33 NF (MSA AA). A query without an identifier and
// without last name, first name or birth date gets Z33 with MSA and QAK AE
// and ERRs; an unknown query name gets AR.
//
// The forecast covers the main childhood vaccine groups (HepB, DTaP, polio,
// Hib, PCV, rotavirus, MMR, varicella, HepA, influenza): after the history,
// one ORC (ORC-3 9999) and RXA with CVX 998 and RXA-20 NA, then per group
// an OBX-4 sub-ID with 30956-7 vaccine type, 59779-9 schedule (ACIP),
// 59783-1 status (LOINC answers Complete, On schedule, Overdue, Too old),
// 30973-2 next dose number and the 30981-5 earliest, 30980-7 due, 59778-1
// overdue and 59777-3 latest dates. It counts valid doses (minimum age and
// interval with the 4-day grace period) against a small table of the ACIP
// routine schedule. It is a simulator, NOT a CDSi forecaster: no catch-up
// rules, product-specific series, risk conditions or contraindications.
// Never use it for clinical decisions.
//
// # Behaviours
//
// Config.Behaviours selects, per facility, deviations real registries show:
// a SOAP fault for every submit (security, unknown, toolarge, unsupported),
// HTTP 503 for the first N submits, a delay, a Z32 instead of a Z42, an RSP
// with MSA AE that still carries data, FHS/BHS batch envelopes around the
// reply, and AE instead of AA for warnings. Credentials are checked against
// Config.Users first (any credentials when it is empty), then the message
// size (Config.MaxMessageBytes, and exactly one message per request, as the
// NIST SOAP tests require).
//
// # PHI and concurrency
//
// Replies echo patient data and must not be logged; fault texts and ERR-8
// user messages never contain message values. An IIS is safe for concurrent
// use: one mutex guards the registry's data, and a message is validated
// outside it. Reply control IDs ("SBR" + counter) and registry IDs are
// deterministic for a given sequence of calls, and Config.Now fixes the
// clock, so replies can be compared with golden files.
package sandbox
