module github.com/ustack/ustack/bench/peers

go 1.26.3

require github.com/ustack/ustack v0.0.0-00010101000000-000000000000

require (
	github.com/google/btree v1.1.2 // indirect
	golang.org/x/exp v0.0.0-20250711185948-6ae5c78190dc // indirect
	golang.org/x/sys v0.50.0 // indirect
	golang.org/x/time v0.15.0 // indirect
	gvisor.dev/gvisor v0.0.0-20260905035102-160fafc42237
)

// The benchmark drivers (internal/bench) come from this checkout.
replace github.com/ustack/ustack => ../..
