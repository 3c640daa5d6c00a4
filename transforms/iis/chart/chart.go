// Package chart is iisync's model of one patient's immunization record, on
// either side of the Sync Registry window: the local chart (what the EHR
// sent, mirrored from the VXUs that flow through the channels) and the
// registry's history (parsed from an RSP by transforms/iis/query).
//
// Apply folds a VXU into a Chart (RXA-21 add, update, delete; PID, PD1 and
// NK1; OBX indicators; the registry ID in PID-3 of type SR). VXU builds the
// messages the reconcile actions send: doses imported from the registry to
// the EHR, local doses sent to the registry, deletions. ParseDemographics,
// RegistryIDOf and ParseDose read single segments with the same rules, so
// that the registry side (an RSP) is parsed like the local one.
//
// Only immunization events are Doses (Dose.Event): a refused dose (RXA-20
// RE) is kept as a Refusal indicator, and a not administered row (RXA-20
// NA, or CVX 998) only contributes the immunity or contraindication
// indicators its OBX carry.
//
// It is pure: no I/O, no goroutines, no logging. Every string in a Chart is
// PHI: store it encrypted, show it to authorised users, never log it.
package chart

import (
	"strings"
	"time"
)

// Key names one patient: the EHR's sending facility (MSH-4.1) and its
// medical record number (PID-3.1 of the repetition of type MR, or the first
// repetition when none is typed MR).
type Key struct {
	Facility string `json:"facility"`
	MRN      string `json:"mrn"`
}

// Chart is one patient's record as one side knows it.
type Chart struct {
	Key Key `json:"key"`
	// RegistryID is the registry's patient ID (PID-3 of type SR), once
	// known: from a VXU, an RSP, or a candidate the user picked.
	RegistryID string       `json:"registry_id,omitempty"`
	Patient    Demographics `json:"patient"`
	// Doses are the immunization events in date order (then CVX). Deleted
	// doses are removed, not kept with a flag.
	Doses      []Dose      `json:"doses,omitempty"`
	Indicators []Indicator `json:"indicators,omitempty"`
	// Updated is when the chart last changed (the MSH-7 of the last VXU
	// applied, or the time of the RSP).
	Updated time.Time `json:"updated,omitzero"`
}

// Demographics are the fields a registry matches on and the Demographics
// tabs compare. Dates are "YYYYMMDD"; codes are the HL7 codes as sent.
type Demographics struct {
	Family        string `json:"family,omitempty"`         // PID-5.1
	Given         string `json:"given,omitempty"`          // PID-5.2
	Middle        string `json:"middle,omitempty"`         // PID-5.3
	Suffix        string `json:"suffix,omitempty"`         // PID-5.4
	MotherMaiden  string `json:"mother_maiden,omitempty"`  // PID-6.1
	MotherGiven   string `json:"mother_given,omitempty"`   // PID-6.2
	BirthDate     string `json:"birth_date,omitempty"`     // PID-7, first 8 digits
	Sex           string `json:"sex,omitempty"`            // PID-8
	Race          string `json:"race,omitempty"`           // PID-10.1
	Ethnicity     string `json:"ethnicity,omitempty"`      // PID-22.1
	Street        string `json:"street,omitempty"`         // PID-11.1
	City          string `json:"city,omitempty"`           // PID-11.3
	State         string `json:"state,omitempty"`          // PID-11.4
	Zip           string `json:"zip,omitempty"`            // PID-11.5
	Country       string `json:"country,omitempty"`        // PID-11.6
	Phone         string `json:"phone,omitempty"`          // PID-13: area code + local number, digits only
	MultipleBirth string `json:"multiple_birth,omitempty"` // PID-24 (Y/N)
	BirthOrder    string `json:"birth_order,omitempty"`    // PID-25
	// Guardian is the first NK1: name and relationship (HL70063 code).
	GuardianFamily   string `json:"guardian_family,omitempty"`
	GuardianGiven    string `json:"guardian_given,omitempty"`
	GuardianRelation string `json:"guardian_relation,omitempty"`
	// Publicity, Protection and RegistryStatus are PD1-11.1, PD1-12 and
	// PD1-16.
	Publicity      string `json:"publicity,omitempty"`
	Protection     string `json:"protection,omitempty"`
	RegistryStatus string `json:"registry_status,omitempty"`
}

// Dose is one immunization event (an ORC/RXA group).
type Dose struct {
	// ID identifies the dose on its own side: the EHR's ORC-3 (filler order
	// number, what RXA-21 U/D refer to), else ORC-2 ("9999" and an order
	// number repeated in the same message do not count), else the synthetic
	// "rxa:<date>:<cvx>"; for a registry dose the registry's ORC-3 when
	// unique in the message, else "rxa-N" (N = the RXA's ordinal in the
	// RSP). Imported doses keep the registry's ID.
	ID string `json:"id"`
	// Date is RXA-3, "YYYYMMDD".
	Date string `json:"date"`
	// CVX is RXA-5.1 when RXA-5.3 is CVX, else RXA-5.4 when RXA-5.6 is CVX
	// (HL70292 is accepted for CVX, and an uncoded RXA-5.1 of 1-3 digits is
	// taken as CVX), else the CVX of the NDC (codes.LookupNDC); empty when
	// the vaccine came only as an NDC that is not in the table.
	CVX string `json:"cvx,omitempty"`
	// NDC is the NDC of RXA-5 (either triplet), as sent.
	NDC string `json:"ndc,omitempty"`
	// Text is the vaccine's description as sent (RXA-5.2).
	Text string `json:"text,omitempty"`
	// Amount and Units are RXA-6 and RXA-7.1 ("999" = unknown).
	Amount string `json:"amount,omitempty"`
	Units  string `json:"units,omitempty"`
	// Source is RXA-9.1, NIP001: "00" administered, "01"–"08" historical
	// (and its source); "" when absent.
	Source string `json:"source,omitempty"`
	Lot    string `json:"lot,omitempty"`    // RXA-15 (first repetition)
	Expiry string `json:"expiry,omitempty"` // RXA-16, "YYYYMMDD"
	MVX    string `json:"mvx,omitempty"`    // RXA-17.1
	// Refusal is RXA-18.1 (NIP002) when RXA-20 is RE.
	Refusal string `json:"refusal,omitempty"`
	// Completion is RXA-20: CP, PA, RE, NA ("" means CP).
	Completion string `json:"completion,omitempty"`
	// Facility is RXA-11.4 (the administering location), and Route and
	// Site are RXR-1.1 and RXR-2.1.
	Facility string `json:"facility,omitempty"`
	Route    string `json:"route,omitempty"`
	Site     string `json:"site,omitempty"`
	// Funding is the VFC eligibility (OBX 64994-7 value) or the funding
	// source (OBX 30963-3), when sent.
	Funding string `json:"funding,omitempty"`
	// Reactions are OBX 31044-1 values (adverse reactions), codes.
	Reactions []string `json:"reactions,omitempty"`
	// Valid is the registry's evaluation (OBX 59781-5: "Y" or "N"); empty
	// on the local side and when the registry does not evaluate.
	Valid string `json:"valid,omitempty"`
	// Updated is when this side last recorded the dose (MSH-7 of the VXU
	// that added or updated it); zero for registry doses.
	Updated time.Time `json:"updated,omitzero"`
}

// Administered reports whether the dose was given by the reporting
// provider (RXA-9 "00" or empty), as opposed to historical.
func (d Dose) Administered() bool { return d.Source == "" || d.Source == "00" }

// Given reports whether the dose was actually given: not refused and not
// "not administered" (RXA-20 RE or NA, in any case).
func (d Dose) Given() bool {
	c := strings.ToUpper(strings.TrimSpace(d.Completion))
	return c != "RE" && c != "NA"
}

// IndicatorKind is what an Indicators-tab row says.
type IndicatorKind string

const (
	// Immunity is evidence of immunity (OBX 59784-9 disease with presumed
	// immunity, or 75505-8 serological evidence; SNOMED in OBX-5).
	Immunity IndicatorKind = "immunity"
	// Contraindication is a contraindication or precaution (OBX 30945-0,
	// CDC VXC codes or SNOMED).
	Contraindication IndicatorKind = "contraindication"
	// Refusal is a vaccine refusal (RXA-20 RE with RXA-18).
	Refusal IndicatorKind = "refusal"
)

// Indicator is one immunity, contraindication or refusal.
type Indicator struct {
	Kind IndicatorKind `json:"kind"`
	// Code and Text are the coded value (OBX-5.1/.2, or RXA-18.1/.2 for a
	// refusal) and System its coding system (OBX-5.3).
	Code   string `json:"code"`
	Text   string `json:"text,omitempty"`
	System string `json:"system,omitempty"`
	// CVX is the vaccine the indicator concerns when known (the RXA of the
	// OBX group, for a refusal the refused CVX); Groups are its vaccine
	// groups ("MMR", "VARICELLA", "FLU", ...).
	CVX    string   `json:"cvx,omitempty"`
	Groups []string `json:"groups,omitempty"`
	// Date is when it was observed (OBX-14, else RXA-3), "YYYYMMDD".
	Date string `json:"date,omitempty"`
}
