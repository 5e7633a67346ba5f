module github.com/ringex/ringex

go 1.26

require (
	github.com/HdrHistogram/hdrhistogram-go v1.4.0
	github.com/klauspost/compress v1.20.3
	github.com/quickfixgo/quickfix v0.9.10
	github.com/quickfixgo/tag v0.1.0
	github.com/smarty/go-disruptor v0.5.0
)

require (
	github.com/pires/go-proxyproto v0.7.0 // indirect
	github.com/pkg/errors v0.9.1 // indirect
	github.com/quagmt/udecimal v1.8.0 // indirect
	github.com/shopspring/decimal v1.4.0 // indirect
	golang.org/x/net v0.24.0 // indirect
)
