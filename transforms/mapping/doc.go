// Package mapping holds what a channel does to a message between receiving
// and delivering it: filter expressions and transform steps. It is pure: no
// I/O, no goroutines, no logging. It imports transforms/hl7, expr-lang/expr
// and conf/field.
package mapping

import "github.com/iisync/iisync/transforms/hl7"

var hl7CheckPath = hl7.CheckPath
