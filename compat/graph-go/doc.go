// Package graphgo is Allot's compatibility suite for the official Microsoft
// Graph Go SDK (github.com/microsoftgraph/msgraph-sdk-go). Its tests build the
// real `allot` command from the repository root, start it on loopback and
// drive the licensing flows through the SDK's typed request builders, so
// that every property the SDK deserialises is checked against the types
// Microsoft's metadata gives it.
//
// It is a module of its own so that the main module does not depend on the
// SDK, whose thousands of generated files take minutes to compile.
//
// Run it with `go test -count=1 ./...` in this directory (docs/COMPATIBILITY.md).
package graphgo
