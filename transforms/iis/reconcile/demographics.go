package reconcile

import (
	"strings"

	"github.com/iisync/iisync/transforms/iis/chart"
)

// FieldDiff is one line of the Demographics tab.
type FieldDiff struct {
	// Field is the JSON name of the chart.Demographics field ("family",
	// "birth_date", ...), Label its display name ("Family name").
	Field string `json:"field"`
	Label string `json:"label"`
	// Local and Registry are the values as each side holds them.
	Local    string `json:"local"`
	Registry string `json:"registry"`
	// Same reports whether the values are equal after normalisation.
	Same bool `json:"same"`
}

// demoField describes one chart.Demographics field.
type demoField struct {
	field, label string
	get          func(*chart.Demographics) string
	norm         func(string) string
}

// demoFields lists chart.Demographics in struct order (a test checks it).
var demoFields = []demoField{
	{"family", "Family name", func(d *chart.Demographics) string { return d.Family }, normText},
	{"given", "Given name", func(d *chart.Demographics) string { return d.Given }, normText},
	{"middle", "Middle name", func(d *chart.Demographics) string { return d.Middle }, normText},
	{"suffix", "Suffix", func(d *chart.Demographics) string { return d.Suffix }, normText},
	{"mother_maiden", "Mother's maiden name", func(d *chart.Demographics) string { return d.MotherMaiden }, normText},
	{"mother_given", "Mother's given name", func(d *chart.Demographics) string { return d.MotherGiven }, normText},
	{"birth_date", "Birth date", func(d *chart.Demographics) string { return d.BirthDate }, normDate},
	{"sex", "Sex", func(d *chart.Demographics) string { return d.Sex }, normCode},
	{"race", "Race", func(d *chart.Demographics) string { return d.Race }, normCode},
	{"ethnicity", "Ethnicity", func(d *chart.Demographics) string { return d.Ethnicity }, normCode},
	{"street", "Street", func(d *chart.Demographics) string { return d.Street }, normText},
	{"city", "City", func(d *chart.Demographics) string { return d.City }, normText},
	{"state", "State", func(d *chart.Demographics) string { return d.State }, normText},
	{"zip", "ZIP code", func(d *chart.Demographics) string { return d.Zip }, normZip},
	{"country", "Country", func(d *chart.Demographics) string { return d.Country }, normText},
	{"phone", "Phone", func(d *chart.Demographics) string { return d.Phone }, normPhone},
	{"multiple_birth", "Multiple birth", func(d *chart.Demographics) string { return d.MultipleBirth }, normCode},
	{"birth_order", "Birth order", func(d *chart.Demographics) string { return d.BirthOrder }, normOrder},
	{"guardian_family", "Guardian family name", func(d *chart.Demographics) string { return d.GuardianFamily }, normText},
	{"guardian_given", "Guardian given name", func(d *chart.Demographics) string { return d.GuardianGiven }, normText},
	{"guardian_relation", "Guardian relationship", func(d *chart.Demographics) string { return d.GuardianRelation }, normCode},
	{"publicity", "Publicity code", func(d *chart.Demographics) string { return d.Publicity }, normCode},
	{"protection", "Protection indicator", func(d *chart.Demographics) string { return d.Protection }, normCode},
	{"registry_status", "Registry status", func(d *chart.Demographics) string { return d.RegistryStatus }, normCode},
}

// Demographics compares the patient's demographics field by field: one entry
// per field present (not blank) on either side, in the order of the
// chart.Demographics struct. Names, street, city, state and country are
// compared case-insensitively with white space collapsed; the birth date on
// its first 8 digits; the phone on its digits (a leading US country code 1
// dropped); the ZIP code on its first 5 digits; codes (sex, race, ...)
// trimmed and upper-cased; the birth order as a number.
func Demographics(local, registry chart.Demographics) []FieldDiff {
	var out []FieldDiff
	for _, f := range demoFields {
		lv, rv := f.get(&local), f.get(&registry)
		if strings.TrimSpace(lv) == "" && strings.TrimSpace(rv) == "" {
			continue
		}
		out = append(out, FieldDiff{
			Field:    f.field,
			Label:    f.label,
			Local:    lv,
			Registry: rv,
			Same:     f.norm(lv) == f.norm(rv),
		})
	}
	return out
}

func normText(s string) string { return strings.ToUpper(collapse(s)) }

func normCode(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

func normZip(s string) string {
	s = digits(s)
	if len(s) > 5 {
		s = s[:5]
	}
	return s
}

func normPhone(s string) string {
	s = digits(s)
	if len(s) == 11 && s[0] == '1' {
		s = s[1:]
	}
	return s
}

func normOrder(s string) string {
	s = strings.TrimSpace(s)
	if allDigits(s) {
		if t := strings.TrimLeft(s, "0"); t != "" {
			return t
		}
		return "0"
	}
	return strings.ToUpper(s)
}
