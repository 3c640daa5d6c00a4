// Package codes holds the CDC immunization code tables iisync needs to
// understand a message: CVX vaccine codes with their CDC vaccine groups
// (vax2vg), MVX manufacturer codes, an NDC-to-CVX crosswalk, and the small
// HL7/CDC tables an IIS uses in ACKs and responses (HL7 0357, CDC 0533,
// NIP001, NIP002, HL7 0322, 0323, 0208, 0516, 0064, 0163, NCIT routes and the
// NIP003 LOINC observation identifiers).
//
// The tables are data files under data/, embedded at build time (see
// data/SOURCES.md for where each came from); they are parsed once, on first
// use, and never change afterwards. Every function is safe for concurrent use
// and returns copies, so callers may modify what they get.
//
// It is pure: it imports only the standard library (embed, no os or net),
// does no I/O at run time, starts no goroutines and does not log.
//
// Codes are matched the way registries receive them: CVX codes with or
// without leading zeros ("08" and "8" are the same vaccine), MVX codes in any
// case, NDC codes in 5-4-2 form with or without hyphens (or in the 4-4-2,
// 5-3-2 and 5-4-1 hyphenated forms, which are padded to 5-4-2).
package codes
