// Package validate checks VXU and QBP messages before the registry sees
// them: conformance to the CDC IG 1.5 message profiles (as NIST encodes
// them) and the MQE-style data-quality rules immunization registries
// reject messages for. It owns the profile tables under data/ and may
// import the standard library, transforms/hl7, transforms/hl7/dict,
// transforms/iis/codes and conf/field. It is pure: no I/O at run time (the
// tables are embedded and parsed once, on first use), no goroutines, no
// logging.
//
// # Profiles
//
// Validate picks the profile from MSH-9: VXU^V04 is checked against Z22
// (Send Immunization History); QBP^Q11 against Z34 (Request Immunization
// History) or Z44 (Request Evaluated History and Forecast), as MSH-21
// names, else QPD-1, else Z44. Any other message gives no findings.
//
// The profile engine is data, not code. data/<profile>_fields.tsv and
// data/<profile>_structure.txt are the NIST IG 1.5 profile tables (field
// usage R/RE/C/O/X, cardinality, data type, value-set binding, required
// components; segment and group order, usage and cardinality).
// data/predicates.tsv makes conditional (C) fields required when their
// NIST predicate holds (RXA-7 unless RXA-6 is 999, RXA-9 for CP/PA, RXA-15
// and RXA-17 for an administered dose, RXA-18 for a refusal, RXA-21 unless
// CVX 998, OBX-6 for NM). data/constraints.tsv holds the IZ-xx conformance
// statements and data formats (fixed values such as MSH-12 2.5.1, RXA-1 0,
// ORC-1 RE, OBX-11 F; YYYYMMDD dates; conditional value sets such as
// HL70064 for OBX-5 of 64994-7). data/overrides.tsv reports a few elements
// under a dedicated rule (below). Value sets come from package codes (CVX,
// MVX, NDC, NIP001, NIP002, NIP003, NCIT, HL70064, HL70163, HL70322,
// HL70323) and from data/valuesets.tsv (HL70001, HL70063, HL70085, HL70119,
// HL70125, HL70136, HL70155, HL70215, HL70441, HL70471, CDCREC race and
// ethnicity, the CDC profile ids, VXC40/41, UCUM); bindings to local tables
// (HL70361, HL70362 …) are not checked. data/SOURCES.md says where each file
// comes from.
//
// What the structure check does with an irregular message: a segment that
// may not stand where it is, is repeated beyond its cardinality or is not
// part of the profile is reported once and skipped; Z segments are skipped
// silently. An RXA without its ORC opens a new ORDER group with the ORC
// reported missing, so every RXA must have an ORC and every ORC an RXA.
//
// # Rules
//
// Every rule has a stable id and a default severity; Config.Severities
// changes it per id ("ignore" disables the rule). Rules lists them:
//
//	id                               default  HL7 0357 / CDC 0533  what
//	profile.structure                warning  100 / -              segment out of order, repeated beyond its cardinality, not in the profile, or X
//	profile.usage                    error    100 or 101 / 7       required segment, field, predicate-required field, or first component of a required field missing
//	profile.component_usage          warning  101 / 7              another required component missing in a valued field (PID-5.7, PID-11.7 …)
//	profile.cardinality              warning  102 / -              field repeats beyond its maximum
//	profile.value_set                warning  103 / 5              coded value not in its value set (identifier or alternate identifier)
//	profile.constraint               warning  102 / 4              IZ-xx conformance statement broken (IZ-15, IZ-25, IZ-28, IZ-45, IZ-47 …)
//	profile.data_type                warning  102 / 2 or 4         wrong format: date not YYYYMMDD, MSH-7 without time zone, non-numeric amount
//	mqe.admin_date_missing           error    101 / 7              RXA-3 missing
//	mqe.admin_date_invalid           error    102 / 2              RXA-3 not a date
//	mqe.birth_date_invalid           error    102 / 2              PID-7 (QPD-6) not a date
//	mqe.birth_date_in_future         error    999 / 1              PID-7 (QPD-6) after today
//	mqe.dose_before_birth            error    999 / 1              RXA-3 before PID-7
//	mqe.dose_in_future               error    999 / 1              RXA-3 after today
//	mqe.vaccine_code_unknown         error    103 / 5              RXA-5 neither a known CVX nor an NDC mapped to one
//	mqe.cvx_not_valid_on_date        warning  999 / 1              vaccine not in use on the RXA-3 date
//	mqe.sex_invalid                  error    103 / 5              PID-8 not F, M, U or X
//	mqe.action_code_invalid          error    103 / 5              RXA-21 not A, U or D
//	mqe.vfc_obx_missing              warning  101 / 6              administered dose without VFC eligibility OBX 64994-7 (IZ-23)
//	mqe.temporary_name               warning  999 / 4              temporary newborn name (Baby Girl, BG, Newborn …; family Unknown)
//	mqe.address_missing              warning  101 / 7              PID-11 missing
//	mqe.query_demographics_missing   error    101 / 7              query without QPD-3 identifier lacks QPD-4.1, QPD-4.2 or QPD-6
//
// The defaults follow what registries do: errors where the AIRA IIS
// sandbox, and the project's own sandbox, reject a message or a dose (a
// missing or impossible birth or vaccination date, an unknown vaccine, sex
// or action code, a required field missing), warnings where they accept
// with a warning (address, VFC eligibility, manufacturer, site), and
// warnings for profile details registries tolerate.
//
// Details of the MQE-style rules:
//
//   - Dates are compared as calendar days; "today" is Config.Now's day in
//     its location. A dose on the birth date or today is fine. Dose dates
//     are not judged for CVX 998 (no vaccine administered).
//   - A dose is administered when RXA-9.1 is 00 or absent, RXA-20 is CP, PA
//     or absent, RXA-21 is not D and RXA-5 is not CVX 998; it is
//     historical when RXA-9.1 is another NIP001 code.
//   - RXA-5 is resolved the way a registry does: a CVX in the primary
//     triplet, else a CVX in the alternate, else an NDC in the primary (or
//     an uncoded code with hyphens), else an NDC in the alternate (mapped
//     to its CVX by codes.LookupNDC), else the primary as a CVX.
//   - mqe.cvx_not_valid_on_date uses the AIRA codebase use dates
//     (data/cvx_use_dates.tsv): the dose must fall within not-before …
//     not-after. A CVX CDC marks Never Active always fails; non-vaccines,
//     non-US vaccines, historical doses with an unspecified-formulation code,
//     refusals, not-administered doses and deletes are not judged. The
//     codebase gives 2010-05-28 (the day it was compiled) as not-before of
//     many long-licensed vaccines (CVX 03, 08, 21 …); that date is ignored,
//     as is a not-before later than the not-after. Its dates are imperfect
//     (CVX 140 starts 2013-07-17), hence the warning default.
//   - Temporary names are matched after upper-casing, turning punctuation
//     into spaces and dropping trailing birth-order tokens ("Baby Girl A",
//     "BG2"); the list is data/temporary_names.tsv.
//
// # Findings and ERR segments
//
// Validate returns the findings in message order: by segment, then field,
// repetition and component; a missing segment sorts where it was found
// missing. Each Finding carries the ERR-2 location (segment, its
// occurrence, field, repetition, component), the HL7 0357 code, the CDC
// 0533 code and a plain-English message that names fields and profile
// values but never a value of the message, so findings are safe to log.
// Finding.ErrorDetail turns one into the hl7.ErrorDetail hl7.BuildACK writes
// as an ERR segment (ERR-4 'E', 'W' or 'I'), with the same codes and
// locations the sandbox registry uses, e.g.
//
//	ERR||RXA^2^5^1^1|103^Table value not found^HL70357|E|5^Table value not found^HL70533|||RXA-5 (Administered Code) is not a recognized CVX code or an NDC that maps to one
//
// # Concurrency and cost
//
// A Validator is immutable and safe for concurrent use. Validate keeps its
// scratch state in a sync.Pool, splits each segment into fields once and
// reads elements through views of the wire bytes; common codes resolve
// through maps built when the tables load (each entry confirmed by package
// codes, which still answers anything else). A clean 2 KB VXU costs two
// small allocations (see BenchmarkValidateVXU).
package validate

//go:generate go run gen.go
