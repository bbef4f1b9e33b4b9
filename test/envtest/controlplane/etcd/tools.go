//go:build tools

// Package tools pins the etcd main package in this module's dependency graph.
package tools

import _ "go.etcd.io/etcd/server/v3"
