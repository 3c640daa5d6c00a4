// Package reconcile compares a patient's local chart (what the EHR sent)
// with the registry's history (the RSP to a Z44 query) for the Sync Registry
// window, following shared docs/iis-domain.md §7 ("Reconciling a local chart
// with the registry history") and the Office Practicum colours of §6.3.
//
// Compare pairs the doses of both sides and gives one Row per pair or
// unpaired dose, in one of four states:
//
//   - match (white): the same vaccine group on the same date, and every field
//     present on both sides agrees;
//   - differs (white, with a difference flag): the same event with
//     differences, listed field by field — a different CVX of the same group
//     (registry 45 "HepB, unspecified" against a local 08), a date within
//     Options.DayWindow, a different lot, MVX, NDC, amount, information source
//     category, completion status or administering facility;
//   - local_only (blue): in the chart only — the Send action;
//   - registry_only (yellow): in the registry only — the Import action.
//
// # Rules
//
// Normalisation: the CVX becomes CDC's canonical code (codes.LookupCVX, so
// "8" is "08"), and an empty CVX is taken from the NDC (codes.LookupNDC);
// dates keep their first 8 digits; lots are trimmed and upper-cased, MVX
// upper-cased, NDCs padded to 5-4-2, amounts compared as numbers ("999",
// unknown, counts as absent).
//
// Doses that are not doses are dropped from both sides before pairing: CVX
// 998 (no vaccine administered, the registry's forecast rows) and RXA-20 NA
// or RE (not administered, refused; refusals are shown by Indicators).
//
// Pairing (each dose pairs at most once) runs in three passes, each over
// what the previous ones left: (1) the same canonical CVX on the same date;
// (2) a shared CDC vaccine group on the same date (a combination vaccine has
// several groups: 110 DTaP-HepB-IPV pairs with a lone HepB dose, and the
// other groups' doses of that day stay unpaired); (3) a shared group within
// DayWindow days, closest dates first. Within a pass, ties go to the pair
// sharing more groups, then the one with fewer differences, then the lower
// local ID and registry ID, then the input order: the result depends only
// on the data.
//
// Differences are reported only for fields present on both sides: a lot the
// registry dropped is not a difference. The information source (RXA-9) is
// compared by category only — administered ("00") against historical ("01"
// to "08") — and only when both sides sent a known code, since registries
// often drop or rewrite RXA-9 (§4.2). A local historical dose that the
// registry holds as administered is therefore flagged: the registry has the
// administering provider's record, which the Reconcile action may put in
// its place. A local dose whose source is "05" (historical, from a
// registry: what an Import writes) is the registry's record and never
// differs on its source. The expiry date, route, site, funding and the registry's
// evaluation (OBX 30956-7 vaccine type, 59781-5 validity) are not compared:
// the evaluation's vaccine type is the forecaster's group code, not the
// dose's CVX (RXA-5).
//
// Demographics and Indicators compare the other two tabs; Select and
// CheckReconcile back the window's Select and Reconcile actions.
//
// It is pure: no I/O, no goroutines, no logging. It imports only the
// standard library, transforms/iis/chart and transforms/iis/codes. Rows hold
// PHI (they copy the doses); errors never contain field values.
package reconcile
