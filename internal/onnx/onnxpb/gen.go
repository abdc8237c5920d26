// Package onnxpb holds the Go types of ONNX's onnx.proto (IR version 8, from ONNX 1.12),
// generated with protoc and protoc-gen-go. onnx.proto is Apache-2.0 licensed (see its
// SPDX header).
//
// To regenerate: apt-get install protobuf-compiler;
// go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12; go generate.
package onnxpb

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go_opt=Monnx.proto=github.com/dst-dev/dst/internal/onnx/onnxpb onnx.proto
