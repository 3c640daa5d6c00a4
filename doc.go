// Package iisync is the root of the iisync module: an HL7 v2 integration
// engine between an EHR and a state Immunization Information System.
//
// The root package holds no code. Its test enforces the one-way import rule
// of the project's rooms:
//
//	cmd → {console, sandbox, conf} → channels → {gateway, transforms} → conf/field
package iisync
