package validate

// RuleInfo describes one rule: its stable id, its default severity and
// what it checks.
type RuleInfo struct {
	// ID is the rule's stable id, the key of Config.Severities, e.g.
	// "mqe.dose_before_birth". Ids starting "profile." check the CDC IG
	// profile; "mqe." ids are the data-quality rules registries reject on.
	ID string
	// Default is the severity the rule has unless Config.Severities
	// changes it: Error, Warning or Info.
	Default Severity
	// Description says what the rule checks and which HL7 0357 and CDC
	// 0533 codes its findings carry.
	Description string
}

// rule is the index of a rule in ruleTable.
type rule uint8

// The rules, in the order Rules lists them.
const (
	rStructure rule = iota
	rUsage
	rComponentUsage
	rCardinality
	rValueSet
	rConstraint
	rDataType
	rAdminDateMissing
	rAdminDateInvalid
	rBirthDateInvalid
	rBirthDateInFuture
	rDoseBeforeBirth
	rDoseInFuture
	rVaccineCodeUnknown
	rCVXNotValidOnDate
	rSexInvalid
	rActionCodeInvalid
	rVFCObxMissing
	rTemporaryName
	rAddressMissing
	rQueryDemographicsMissing
	numRules
)

type ruleDef struct {
	id   string
	def  Severity
	desc string
}

// ruleTable is the stable, documented rule list. Ids never change meaning;
// new rules are appended.
var ruleTable = [numRules]ruleDef{
	rStructure: {"profile.structure", Warning,
		"A segment is out of the profile's order, repeats more often than the profile allows, is not part of the profile, or is not supported (X) (HL7 0357 100). Z segments are skipped."},
	rUsage: {"profile.usage", Error,
		"A required (R) segment, a required field, a field a predicate makes required (C), or a required component of a required field is missing (0357 100 for a segment, 101 otherwise; CDC 0533 7)."},
	rComponentUsage: {"profile.component_usage", Warning,
		"A required component of a field that is itself only required-if-known (RE), conditional or optional is missing while the field is valued, e.g. PID-11.7 address type (0357 101; 0533 7)."},
	rCardinality: {"profile.cardinality", Warning,
		"A field repeats more often than the profile's maximum cardinality (0357 102)."},
	rValueSet: {"profile.value_set", Warning,
		"A coded field holds a code that is not in the value set the profile binds it to (MVX, NIP001, NIP002, HL70064, HL70322, HL70163, NCIT, HL70063, HL70215, HL70441, CDCREC, …) (0357 103; 0533 5)."},
	rConstraint: {"profile.constraint", Warning,
		"A conformance statement of the IG (IZ-xx) does not hold, e.g. MSH-12 shall be 2.5.1, RXA-1 shall be 0, ORC-3 shall be 9999 for a refusal (0357 102; 0533 4)."},
	rDataType: {"profile.data_type", Warning,
		"A value does not have the profile's format: a date not written YYYYMMDD, a message time without time zone, an amount that is not a number (0357 102; 0533 2 for dates, 4 otherwise)."},
	rAdminDateMissing: {"mqe.admin_date_missing", Error,
		"RXA-3 (date of administration) is missing (0357 101; 0533 7)."},
	rAdminDateInvalid: {"mqe.admin_date_invalid", Error,
		"RXA-3 is not a valid date (0357 102; 0533 2)."},
	rBirthDateInvalid: {"mqe.birth_date_invalid", Error,
		"The birth date (PID-7, or QPD-6 of a query) is not a valid date (0357 102; 0533 2)."},
	rBirthDateInFuture: {"mqe.birth_date_in_future", Error,
		"The birth date (PID-7, or QPD-6 of a query) is after today (0357 999; 0533 1)."},
	rDoseBeforeBirth: {"mqe.dose_before_birth", Error,
		"RXA-3 is before the patient's birth date PID-7 (0357 999; 0533 1)."},
	rDoseInFuture: {"mqe.dose_in_future", Error,
		"RXA-3 is after today (0357 999; 0533 1)."},
	rVaccineCodeUnknown: {"mqe.vaccine_code_unknown", Error,
		"RXA-5 is not a known CVX code, nor an NDC the code tables map to a CVX (primary or alternate triplet) (0357 103; 0533 5)."},
	rCVXNotValidOnDate: {"mqe.cvx_not_valid_on_date", Warning,
		"The vaccine of RXA-5 was not in use on the RXA-3 date: outside the AIRA codebase use-date range, or a CVX CDC marks Never Active (0357 999; 0533 1). Non-vaccines, non-US vaccines, historical doses of unspecified-formulation codes and doses not given are skipped."},
	rSexInvalid: {"mqe.sex_invalid", Error,
		"PID-8 is not F, M, U (HL70001) or X (0357 103; 0533 5)."},
	rActionCodeInvalid: {"mqe.action_code_invalid", Error,
		"RXA-21 is not A, U or D (HL70323) (0357 103; 0533 5)."},
	rVFCObxMissing: {"mqe.vfc_obx_missing", Warning,
		"An administered dose (RXA-9 00 or absent, RXA-20 CP, PA or absent, not a delete, not CVX 998) has no VFC eligibility OBX 64994-7 in its order group (IZ-23) (0357 101; 0533 6)."},
	rTemporaryName: {"mqe.temporary_name", Warning,
		"The patient has a temporary newborn name: PID-5.2 such as Baby, Baby Boy, Baby Girl, Infant, Newborn, BB, BG, Boy or Girl, or PID-5.1 Unknown (0357 999; 0533 4)."},
	rAddressMissing: {"mqe.address_missing", Warning,
		"The patient address PID-11 is missing (0357 101; 0533 7)."},
	rQueryDemographicsMissing: {"mqe.query_demographics_missing", Error,
		"A query without a patient identifier (QPD-3) lacks the family name, given name or birth date (QPD-4.1, QPD-4.2, QPD-6) a registry needs to match (0357 101; 0533 7)."},
}

// ruleIndex maps a rule id to its index.
var ruleIndex = func() map[string]rule {
	m := make(map[string]rule, numRules)
	for i, r := range ruleTable {
		m[r.id] = rule(i)
	}
	return m
}()

// Rules returns every rule, in a stable order: the profile rules first,
// then the MQE-style rules. The slice is a copy the caller may modify.
func Rules() []RuleInfo {
	out := make([]RuleInfo, len(ruleTable))
	for i, r := range ruleTable {
		out[i] = RuleInfo{ID: r.id, Default: r.def, Description: r.desc}
	}
	return out
}
