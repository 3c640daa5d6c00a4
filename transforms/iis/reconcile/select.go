package reconcile

import (
	"errors"

	"github.com/iisync/iisync/transforms/iis/chart"
	"github.com/iisync/iisync/transforms/iis/codes"
)

// The selections of the window's Select action, for Select.
const (
	SelectAll          = "all"
	SelectMatching     = "matching" // Match and Differs
	SelectLocalOnly    = "local_only"
	SelectRegistryOnly = "registry_only"
)

// Select returns the indexes of the rows a Select action picks: which is
// SelectAll, SelectMatching (match and differs), SelectLocalOnly or
// SelectRegistryOnly. An unknown selection, or none matching, gives nil.
func Select(rows []Row, which string) []int {
	var keep func(State) bool
	switch which {
	case SelectAll:
		keep = func(State) bool { return true }
	case SelectMatching:
		keep = func(s State) bool { return s == Match || s == Differs }
	case SelectLocalOnly:
		keep = func(s State) bool { return s == LocalOnly }
	case SelectRegistryOnly:
		keep = func(s State) bool { return s == RegistryOnly }
	default:
		return nil
	}
	var out []int
	for i, r := range rows {
		if keep(r.State) {
			out = append(out, i)
		}
	}
	return out
}

// Errors of CheckReconcile.
var (
	// ErrDifferentGroup: the two doses share no CDC vaccine group (or one
	// of them is not a known vaccine), so they cannot be the same event.
	ErrDifferentGroup = errors.New("reconcile: the two doses are of different vaccine groups")
	// ErrAdministered: the local dose was given by this provider (RXA-9
	// "00" or empty); the practice owns that record and sends corrections
	// to the registry instead.
	ErrAdministered = errors.New("reconcile: the local dose was administered here; only historical doses can be replaced by the registry's record")
)

// CheckReconcile checks a Reconcile action, which pairs a local-only dose
// with a registry-only dose by hand and replaces the local record by the
// registry's: the doses must share a vaccine group (CVX, else the NDC's
// CVX), and the local dose must be historical. It returns nil,
// ErrDifferentGroup or ErrAdministered.
func CheckReconcile(local, registry chart.Dose) error {
	if !codes.SameGroup(canonCVX(local.CVX, local.NDC), canonCVX(registry.CVX, registry.NDC)) {
		return ErrDifferentGroup
	}
	if local.Administered() {
		return ErrAdministered
	}
	return nil
}
