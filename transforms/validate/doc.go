// Package validate checks VXU and QBP messages before a registry sees them.
package validate

//go:generate go run gen.go
